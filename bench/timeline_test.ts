import { assertEquals } from "../tests/_assert.ts";
import { analyse, beyondByOwner, slowestStep, type Timeline, waits } from "./timeline.ts";

Deno.test("an operator timeline charges each wait to the step's owner, from its latest prerequisite", () => {
  const t: Timeline = {
    sent: 0,
    operatorFirst: 1000,
    claimCreated: 1500,
    deploymentCreated: 2000,
    replicaSetCreated: 2100,
    podCreated: 2200,
    claimBound: 9000,
    podScheduled: 9500,
    podReady: 10000,
    available: 10500,
    ready: 12000,
  };
  const w = Object.fromEntries(waits(t).map((x) => [x.step, [x.owner, x.ms]]));
  assertEquals(w.operatorFirst, ["operator queue", 1000]);
  assertEquals(w.deploymentCreated, ["operator write", 1000]);
  // The pod waited for its claim: the scheduler's wait starts when the claim was Bound, not when the pod appeared.
  assertEquals(w.podScheduled, ["scheduler", 500]);
  assertEquals(w.claimBound, ["controller-manager: volume binding", 7500]);
  assertEquals(slowestStep(t)?.step, "claimBound");
});

Deno.test("a lower-bound timeline (no operator steps) hangs the children off the send", () => {
  const t: Timeline = { sent: 0, deploymentCreated: 300, replicaSetCreated: 400, podCreated: 300_400 };
  const w = waits(t);
  assertEquals(w.map((x) => x.step), ["deploymentCreated", "replicaSetCreated", "podCreated"]);
  assertEquals(w[0].owner, "operator write");
  assertEquals(slowestStep(t), { step: "podCreated", owner: "controller-manager: replicaset", ms: 300_000 });
});

Deno.test("analyse names the slowest objects and the control-plane stalls, and times the rest without them", () => {
  const quick = (sent: number, writeAfter = 100): Timeline => ({
    sent,
    deploymentCreated: sent + writeAfter,
    replicaSetCreated: sent + writeAfter + 100,
    podCreated: sent + writeAfter + 200,
    podScheduled: sent + writeAfter + 300,
    podReady: sent + writeAfter + 400,
    available: sent + writeAfter + 900,
  });
  const stalled: Timeline = { ...quick(0), podCreated: 300_200, podScheduled: 300_300, podReady: 300_400 };
  stalled.available = 301_000;
  // A slow operator is not a control-plane stall: it stays in the unstalled figure.
  const slowOperator = quick(0, 94_100);
  const r = analyse({
    a: new Map([["db-1", quick(0)], ["db-2", stalled]]),
    b: new Map([["db-1", quick(2000)], ["db-3", slowOperator]]),
  }, "available");
  assertEquals(r.slowest[0].name, "db-2");
  assertEquals(r.slowest[0].slowest, {
    step: "podCreated",
    owner: "controller-manager: replicaset",
    seconds: 300,
  });
  assertEquals(r.stalls.map((s) => [s.cluster, s.name, s.step]), [["a", "db-2", "podCreated"]]);
  assertEquals(r.stallsByOwner, { "controller-manager: replicaset": 1 });
  assertEquals(r.unstalledMaxS, 95); // the slow operator counts; the stalled object does not
});

Deno.test("a wait every object shares (a queue such as the volume binder's) is the pace, not a stall", () => {
  const m = new Map<string, Timeline>();
  for (let i = 0; i < 10; i++) {
    // Claims bound one after the other, 12 s apart: the last waits 108 s, the median 48 s.
    m.set(`db-${i}`, {
      sent: 0,
      claimCreated: 0,
      deploymentCreated: 0,
      replicaSetCreated: 1,
      podCreated: 2,
      claimBound: 12_000 * i,
      podScheduled: 12_000 * i + 100,
    });
  }
  // One pod left by the scheduler for 300 s after its claim was Bound.
  m.get("db-3")!.podScheduled = 36_000 + 300_000;
  const r = analyse({ a: m }, "podScheduled");
  assertEquals(r.stalls.map((s) => [s.name, s.owner]), [["db-3", "scheduler"]]);
});

Deno.test("beyondByOwner counts the objects slower than a limit by the owner of their longest wait", () => {
  const r = beyondByOwner(
    {
      a: {
        quick: { sent: 0, deploymentCreated: 1, ready: 10 },
        bound: { sent: 0, claimCreated: 1, claimBound: 150, ready: 151 },
        queued: { sent: 0, operatorFirst: 120, deploymentCreated: 121, ready: 130 },
        never: { sent: 0, operatorFirst: 1 },
      },
    },
    "ready",
    100,
  );
  assertEquals(r, { "controller-manager: volume binding": 1, "operator queue": 2 });
});

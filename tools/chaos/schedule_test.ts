import { assert, assertEquals, assertNotEquals } from "../../tests/_assert.ts";
import {
  type ChaosEvent,
  chaosSchedule,
  initialObjects,
  NAMESPACES,
  type ScheduleOptions,
} from "./schedule.ts";

const FULL: ScheduleOptions = {
  seed: 42,
  clusters: 3,
  objects: 100,
  durationMs: 600_000,
  outageMs: 60_000,
  faults: true,
};

Deno.test("the same seed gives the same schedule; another seed another one", () => {
  assertEquals(chaosSchedule(FULL), chaosSchedule({ ...FULL }));
  assertNotEquals(chaosSchedule(FULL), chaosSchedule({ ...FULL, seed: 43 }));
});

Deno.test("the fault-free run of a seed has exactly its user actions and no fault", () => {
  const faulty = chaosSchedule(FULL);
  const calm = chaosSchedule({ ...FULL, faults: false });
  const isUser = (e: ChaosEvent) => e.kind === "user" || e.kind === "delete-namespace";
  assertEquals(calm, faulty.filter(isUser));
  assert(faulty.length > calm.length, "faults drawn");
});

Deno.test("every kind of fault and user action is drawn in the full run, in time", () => {
  const events = chaosSchedule(FULL);
  const kinds = new Set(events.map((e) => e.kind === "user" ? `user:${e.action.op}` : e.kind));
  for (
    const k of [
      "kill",
      "api-stop",
      "api-hang",
      "net",
      "compact",
      "delete-namespace",
      "user:create",
      "user:create-after-foreign",
      "user:delete",
      "user:break-backup",
      "user:fix-backup",
      "user:edit-image",
      "user:edit-resources",
      "user:backup-now",
      "user:delete-child",
      "user:edit-child",
      "user:relabel-claim",
    ]
  ) assert(kinds.has(k), `${k} is drawn`);
  assert(
    events.some((e) => e.kind === "kill" && e.target === "both"),
    "both operators are killed at least once",
  );
  for (const e of events) {
    assert(e.at >= 0 && e.at < FULL.durationMs, `${JSON.stringify(e)} inside the window`);
  }
  assertEquals(events.map((e) => e.at), events.map((e) => e.at).toSorted((a, b) => a - b));
});

Deno.test("the stopped and the hung API server are on different clusters and never at once", () => {
  for (let seed = 0; seed < 50; seed++) {
    const events = chaosSchedule({ ...FULL, seed });
    const stop = events.find((e) => e.kind === "api-stop")!;
    const hang = events.find((e) => e.kind === "api-hang")!;
    assert(stop.kind === "api-stop" && hang.kind === "api-hang");
    assertNotEquals(stop.cluster, hang.cluster, `seed ${seed}`);
    assert(stop.at + stop.forMs <= hang.at, `seed ${seed}: the hang starts after the stop ends`);
    assert(hang.at + hang.forMs <= FULL.durationMs, `seed ${seed}: the hang ends inside the window`);
  }
});

Deno.test("users act only on what exists: a replay of the actions against a model of the objects never objects", () => {
  for (let seed = 0; seed < 50; seed++) {
    const o = { ...FULL, seed, clusters: 2, objects: 20 };
    const exists = new Set<string>();
    for (let c = 0; c < o.clusters; c++) {
      for (const x of initialObjects(o.objects)) exists.add(`${c}/${x.namespace}/${x.name}`);
    }
    const deadNs = new Set<string>();
    const foreign = new Set<string>();
    for (const e of chaosSchedule(o)) {
      if (e.kind === "delete-namespace") {
        assertEquals(e.namespace, NAMESPACES.at(-1));
        deadNs.add(`${e.cluster}/${e.namespace}`);
        continue;
      }
      if (e.kind !== "user") continue;
      const key = `${e.cluster}/${e.namespace}/${e.name}`;
      const where = `seed ${seed} at ${e.at}: ${e.action.op} ${key}`;
      assert(
        !deadNs.has(`${e.cluster}/${e.namespace}`) || e.action.op === "fix-backup",
        `${where}: namespace deleted`,
      );
      if (e.action.op === "create" || e.action.op === "create-after-foreign") {
        assert(!exists.has(key), `${where}: exists already`);
        assert(!foreign.has(key), `${where}: its names belong to another app`);
        if (e.action.op === "create-after-foreign") foreign.add(key);
        exists.add(key);
      } else if (e.action.op === "fix-backup") {
        assert(!exists.has(key), `${where}: fixed after its deletion was asked`);
      } else {
        assert(exists.has(key), `${where}: acts on a name that does not exist`);
        if (e.action.op === "delete") exists.delete(key);
      }
    }
  }
});

Deno.test("an etcd compaction never falls in its cluster's outage (its etcd must be up, its API server answering)", () => {
  for (let seed = 0; seed < 100; seed++) {
    for (const o of [FULL, { ...FULL, clusters: 1, objects: 20, durationMs: 120_000, outageMs: 20_000 }]) {
      const events = chaosSchedule({ ...o, seed });
      for (const c of events.filter((e) => e.kind === "compact")) {
        for (const w of events) {
          if (
            (w.kind !== "api-stop" && w.kind !== "api-hang") || c.kind !== "compact" ||
            w.cluster !== c.cluster
          ) continue;
          assert(
            c.at < w.at || c.at >= w.at + w.forMs + 10_000,
            `seed ${seed}: compaction at ${c.at} in ${JSON.stringify(w)}`,
          );
        }
      }
    }
  }
});

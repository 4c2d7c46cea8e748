import { assertEquals } from "../tests/_assert.ts";
import { ApiError, type KubeClient, type KubeObject } from "./kube/client.ts";
import { LeaderElector, leaseNameFor } from "./lease.ts";

/** One Lease with optimistic concurrency, counting requests by verb. */
function fakeServer() {
  let stored: KubeObject | undefined;
  let rv = 0;
  const calls: string[] = [];
  /** While set, writes never answer (a hung connection). */
  let hang = false;
  const save = (o: KubeObject) => {
    stored = structuredClone({ ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } });
    return structuredClone(stored);
  };
  const client = {
    getOrUndefined: (_path: string) => {
      calls.push("get");
      return Promise.resolve(stored && structuredClone(stored));
    },
    create: (_path: string, obj: KubeObject) => {
      calls.push("create");
      if (stored) return Promise.reject(new ApiError(409, "AlreadyExists", "exists", "POST"));
      return Promise.resolve(save(obj));
    },
    request: (method: string, _path: string, opts: { body: KubeObject }) => {
      calls.push(method.toLowerCase());
      if (hang && method === "PUT") return new Promise<never>(() => {});
      if (opts.body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) {
        return Promise.reject(new ApiError(409, "Conflict", "the object has been modified", method));
      }
      return Promise.resolve(save(opts.body));
    },
  };
  return {
    client: client as unknown as KubeClient,
    calls,
    /** Makes updates hang (true) or answer again (false). */
    hangWrites(on: boolean) {
      hang = on;
    },
    /** Another process takes the lease. */
    steal(holder: string) {
      save({
        ...stored!,
        spec: { ...stored!.spec, holderIdentity: holder, renewTime: new Date().toISOString() },
      });
    },
  };
}

const OPTS = {
  namespace: "kube-system",
  name: "mysql-operator",
  identity: "me",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 10,
};

/** Polls `cond` (every 5 ms, up to 10 s). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("lease: a leader renews with one update per period and no read (client-go's fast path)", async () => {
  const s = fakeServer();
  const e = new LeaderElector(s.client, OPTS, { onStartedLeading() {}, onStoppedLeading() {} });
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => s.calls.length >= 6);
  ctl.abort();
  await running;
  // get + create to acquire; then only updates; release at the end reads and writes once.
  assertEquals(s.calls.slice(0, 2), ["get", "create"]);
  const renewals = s.calls.slice(2, -2);
  assertEquals(renewals.length >= 3, true, s.calls.join(","));
  assertEquals(renewals.every((c) => c === "put"), true, s.calls.join(","));
  assertEquals(s.calls.slice(-2), ["get", "put"]);
});

Deno.test("lease: a write by another holder makes the leader's renewal conflict; it reads, sees the holder, stops", async () => {
  const s = fakeServer();
  const seen: string[] = [];
  const e = new LeaderElector(s.client, OPTS, {
    onStartedLeading: () => seen.push("started"),
    onStoppedLeading: () => seen.push("stopped"),
  });
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => s.calls.length >= 4); // acquired and renewing
  s.steal("other");
  const mark = s.calls.length;
  await until(() => s.calls.length >= mark + 4);
  ctl.abort();
  await running;
  assertEquals(seen, ["started", "stopped"]);
  // The first attempt after the foreign write: a conflicting update, then a read; afterwards only reads.
  const after = s.calls.slice(mark);
  assertEquals(after.slice(0, 2), ["put", "get"], s.calls.join(","));
  assertEquals(after.slice(2).every((c) => c === "get"), true, s.calls.join(","));
  assertEquals(e.holder, "other");
});

Deno.test("lease: a leader renews every renewPeriodMs, not every retryPeriodMs (an idle operator's only writes)", async () => {
  const s = fakeServer();
  const e = new LeaderElector(s.client, { ...OPTS, retryPeriodMs: 5, renewPeriodMs: 100 }, {
    onStartedLeading() {},
    onStoppedLeading() {},
  });
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => e.leading);
  await new Promise((r) => setTimeout(r, 550));
  ctl.abort();
  await running;
  const puts = s.calls.slice(2, -2).filter((c) => c === "put").length;
  // ~5 in 550 ms at 100 ms; at the 5 ms retry period it would be ~100.
  assertEquals(puts >= 3 && puts <= 7, true, `${puts} renewals: ${s.calls.join(",")}`);
});

Deno.test("lease: a renewal that hangs ends leadership within the renew deadline, not the request timeout", async () => {
  const s = fakeServer();
  const seen: number[] = [];
  const e = new LeaderElector(
    s.client,
    { ...OPTS, leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 20, renewPeriodMs: 500 },
    { onStartedLeading() {}, onStoppedLeading: () => seen.push(Date.now()) },
  );
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => e.leading);
  await until(() => s.calls.filter((c) => c === "put").length >= 1); // renewed once: lastRenew is recent
  const hungAt = Date.now();
  s.hangWrites(true);
  await until(() => !e.leading);
  // The last good renewal was at most renewPeriodMs before hungAt; leadership ends by lastRenew + renewDeadline,
  // before the lease (1500 ms) could expire for another process. (Bounding each attempt by the whole
  // deadline instead would stop it only at lastRenew + renewPeriod + renewDeadline = the expiry.)
  assertEquals(seen.length, 1);
  assertEquals(seen[0] - hungAt < 1300, true, `stopped ${seen[0] - hungAt} ms after the writes hung`);
  s.hangWrites(false);
  ctl.abort();
  await running;
});

Deno.test("leaseNameFor: one Lease per --namespace set (any order), the base name when serving every namespace", () => {
  const base = "mysql-operator";
  assertEquals(leaseNameFor(base, []), base);
  const ab = leaseNameFor(base, ["team-a", "team-b"]);
  assertEquals(
    leaseNameFor(base, ["team-b", "team-a"]),
    ab,
    "the same set in another order shares the Lease",
  );
  const names = [
    leaseNameFor(base, []),
    leaseNameFor(base, ["team-a"]),
    leaseNameFor(base, ["team-b"]),
    ab,
    leaseNameFor(base, ["team-a", "team-b", "team-c"]),
  ];
  assertEquals(new Set(names).size, names.length, `different sets, different Leases: ${names.join(" ")}`);
  for (const n of names.slice(1)) {
    assertEquals(/^mysql-operator-[0-9a-f]{8}$/.test(n), true, `${n} is a valid Lease name`);
  }
  assertEquals(leaseNameFor("other", ["team-a"]).startsWith("other-"), true, "--lease-name is the base");
  // Pinned: a new hash would rename the Lease, and an old and a new operator would both lead during an upgrade.
  assertEquals(ab, "mysql-operator-ff2ba1db");
  assertEquals(leaseNameFor(base, ["ns-1"]), "mysql-operator-4a82b7ba");
});

Deno.test("lease: a step of the wall clock does not make a standby take a lease that is being held", async () => {
  const s = fakeServer();
  const callbacks = { onStartedLeading() {}, onStoppedLeading() {} };
  const other = new LeaderElector(s.client, { ...OPTS, identity: "other" }, callbacks);
  const me = new LeaderElector(s.client, OPTS, callbacks);
  assertEquals(await other.tryAcquireOrRenew(), true);
  assertEquals(await me.tryAcquireOrRenew(), false, "held by other: the standby waits");
  // The machine's clock jumps an hour ahead (a VM resumed, NTP stepping it); the lease is as fresh as before.
  const realNow = Date.now;
  Date.now = () => realNow() + 3600_000;
  try {
    assertEquals(await me.tryAcquireOrRenew(), false, "the standby took a lease renewed moments ago");
  } finally {
    Date.now = realNow;
  }
  assertEquals(me.holder, "other");
});

/** A gate with a fixed answer to reserve and excess, recording what it was told. */
function gate(reserve: boolean, excess = false) {
  const told: string[] = [];
  return {
    told,
    reserve: () => reserve,
    settle: (leading: boolean) => told.push(leading ? "leading" : "not"),
    expired: (holder: string) => told.push(`expired ${holder}`),
    excess: () => excess,
  };
}

Deno.test("lease: a gate that says no keeps a free Lease untaken; the elector only reads", async () => {
  const s = fakeServer();
  const g = gate(false);
  const e = new LeaderElector(s.client, OPTS, { onStartedLeading() {}, onStoppedLeading() {} }, g);
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => s.calls.length >= 3);
  ctl.abort();
  await running;
  assertEquals(s.calls.every((c) => c === "get"), true, s.calls.join(","));
  assertEquals(e.leading, false);
  assertEquals(g.told.every((t) => t === "not"), true);
});

Deno.test("lease: over its share the leader drains, then releases; a drain that does not finish keeps it leading", async () => {
  for (const drained of [true, false]) {
    const s = fakeServer();
    const g = gate(true, true);
    const asked: number[] = [];
    const e = new LeaderElector(s.client, OPTS, {
      onStartedLeading() {},
      onStoppedLeading() {},
      handOver: (ms) => {
        asked.push(ms);
        return Promise.resolve(drained);
      },
    }, g);
    const ctl = new AbortController();
    const running = e.run(ctl.signal);
    await until(() => asked.length >= 2);
    const leadingThen = e.leading;
    ctl.abort();
    await running;
    assertEquals(asked.every((ms) => ms > 0 && ms <= OPTS.renewDeadlineMs / 2), true, `${asked}`);
    if (drained) {
      // Taken, handed over (a write naming no holder), taken again (the gate says yes): never led while released.
      assertEquals(g.told.includes("not"), true, g.told.join(","));
    } else {
      assertEquals(leadingThen, true);
      assertEquals(g.told.filter((t) => t === "not").length, 0, g.told.join(","));
    }
  }
});

Deno.test("lease: a holder that let the Lease run out is reported to the gate before it is taken", async () => {
  const s = fakeServer();
  const first = new LeaderElector(s.client, { ...OPTS, identity: "old", leaseDurationMs: 1000 }, {
    onStartedLeading() {},
    onStoppedLeading() {},
  });
  await first.tryAcquireOrRenew();
  const g = gate(true);
  const e = new LeaderElector(s.client, OPTS, {
    onStartedLeading() {},
    onStoppedLeading() {},
  }, g);
  const ctl = new AbortController();
  const running = e.run(ctl.signal);
  await until(() => e.leading);
  ctl.abort();
  await running;
  assertEquals(g.told.includes("expired old"), true, g.told.join(","));
});

Deno.test("lease: a gate that says yes once the expired holder is counted out is asked again in the same attempt", async () => {
  const s = fakeServer();
  const old = new LeaderElector(s.client, { ...OPTS, identity: "old", leaseDurationMs: 1000 }, {
    onStartedLeading() {},
    onStoppedLeading() {},
  });
  await old.tryAcquireOrRenew();
  // A book at its cap while "old" counts as live; counting it out raises the cap (runtime/shard.ts).
  let counted = false;
  const g = { reserve: () => counted, settle() {}, excess: () => false, expired: () => counted = true };
  const e = new LeaderElector(s.client, OPTS, { onStartedLeading() {}, onStoppedLeading() {} }, g);
  assertEquals(await e.tryAcquireOrRenew(false), false, "held and fresh: only looked at");
  const seen = performance.now(); // the elector judges expiry from when it saw the record, on this clock
  await until(() => performance.now() > seen + 1_100);
  assertEquals(await e.tryAcquireOrRenew(false), true, "taken in the attempt that saw it expire");
  assertEquals(e.holder, "me");
});

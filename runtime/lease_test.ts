import { assertEquals } from "../tests/_assert.ts";
import { ApiError, type KubeClient, type KubeObject } from "./kube/client.ts";
import { LeaderElector } from "./lease.ts";

/** One Lease with optimistic concurrency, counting requests by verb. */
function fakeServer() {
  let stored: KubeObject | undefined;
  let rv = 0;
  const calls: string[] = [];
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
      if (opts.body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) {
        return Promise.reject(new ApiError(409, "Conflict", "the object has been modified", method));
      }
      return Promise.resolve(save(opts.body));
    },
  };
  return {
    client: client as unknown as KubeClient,
    calls,
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

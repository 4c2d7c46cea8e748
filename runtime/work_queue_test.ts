import { assert, assertEquals } from "../tests/_assert.ts";
import { clusterConcurrency, WorkQueue } from "./work_queue.ts";

/** Polls until `cond` holds (no fixed sleeps: timers are slow on a loaded machine). */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 1));
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("a key is never processed twice at once; a change during processing runs it once more", async () => {
  let running = 0, maxRunning = 0, calls = 0;
  const gate = deferred();
  const q = new WorkQueue({
    concurrency: 4,
    errorPolicy: () => 10,
    handler: async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await gate.promise;
      running--;
    },
  });
  q.resume();
  q.add("ns/a");
  await until(() => running === 1);
  q.add("ns/a"); // while processing: marked dirty, not run concurrently
  q.add("ns/a");
  assertEquals(running, 1);
  gate.resolve();
  await until(() => calls === 2 && running === 0);
  await q.idle();
  assertEquals(maxRunning, 1);
  assertEquals(calls, 2, "processed once more after the change, not once per add");
  await q.close();
});

Deno.test("different keys run concurrently up to the limit", async () => {
  let running = 0, maxRunning = 0;
  const gate = deferred();
  const q = new WorkQueue({
    concurrency: 2,
    errorPolicy: () => 10,
    handler: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    },
  });
  q.resume();
  for (const k of ["a", "b", "c", "d"]) q.add(k);
  await until(() => running === 2);
  assertEquals(running, 2);
  assertEquals(q.depth, 2);
  gate.resolve();
  await until(() => q.depth === 0 && running === 0);
  await q.idle();
  assertEquals(maxRunning, 2);
  await q.close();
});

Deno.test("a new limit applies at once: raised, waiting keys start; lowered, running ones finish and no new start", async () => {
  let running = 0;
  const gates: Array<() => void> = [];
  const q = new WorkQueue({
    concurrency: 2,
    errorPolicy: () => 10,
    handler: async () => {
      running++;
      await new Promise<void>((r) => gates.push(r));
      running--;
    },
  });
  q.resume();
  for (const k of ["a", "b", "c", "d", "e", "f"]) q.add(k);
  await until(() => running === 2);
  q.setConcurrency(4);
  assertEquals(q.concurrency, 4);
  await until(() => running === 4);
  assertEquals(q.depth, 2);
  q.setConcurrency(1);
  for (const g of gates.splice(0)) g(); // the 4 running finish; only one of the 2 waiting may start
  await until(() => running === 1);
  assertEquals(q.active, 1);
  assertEquals(q.depth, 1);
  while (q.depth > 0 || q.active > 0) {
    for (const g of gates.splice(0)) g();
    assert(q.active <= 1, `at most 1 at once, saw ${q.active}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  await q.close();
});

Deno.test("clusterConcurrency: the process's budget split evenly, never above the per-cluster limit nor below 2", () => {
  const rows: Array<[perCluster: number, total: number, clusters: number, each: number]> = [
    [32, 96, 1, 32], // one cluster: the per-cluster limit
    [32, 96, 3, 32], // three: 96 / 3
    [32, 96, 4, 24],
    [32, 96, 10, 9], // ten: floor(96 / 10)
    [32, 96, 100, 2], // never below 2: a cluster always makes progress beside a slow pass
    [8, 96, 2, 8], // the per-cluster limit is a ceiling
    [1, 96, 10, 1], // ... even below the floor of 2: --concurrency 1 means one at a time
    [32, 96, 0, 32], // no cluster yet: the per-cluster limit
  ];
  for (const [perCluster, total, clusters, each] of rows) {
    assertEquals(clusterConcurrency(perCluster, total, clusters), each, `${perCluster}/${total}/${clusters}`);
  }
});

Deno.test("errors back off per key through the error policy; success resets it", async () => {
  const failuresSeen: number[] = [];
  let attempts = 0;
  const done = deferred();
  const q = new WorkQueue({
    concurrency: 1,
    errorPolicy: (_k, _e, failures) => {
      failuresSeen.push(failures);
      return 5;
    },
    handler: () => {
      attempts++;
      if (attempts < 3) return Promise.reject(new Error("boom"));
      done.resolve();
      return Promise.resolve();
    },
  });
  q.resume();
  q.add("k");
  await done.promise;
  assertEquals(failuresSeen, [1, 2]);
  await q.close();
});

Deno.test("requeueAfter re-adds later; a paused queue starts nothing; close drops timers", async () => {
  let calls = 0;
  const q = new WorkQueue({
    concurrency: 1,
    errorPolicy: () => 10,
    handler: () => {
      calls++;
      return Promise.resolve(calls === 1 ? { requeueAfterMs: 20 } : {});
    },
  });
  q.add("k");
  assertEquals(calls, 0, "paused until resumed");
  q.resume();
  await until(() => calls === 2);
  q.addAfter("k", 60_000);
  assertEquals(q.delayed, 1);
  await q.close();
  assertEquals(q.delayed, 0);
  assert(q.paused);
});

/** A running queue whose handler records the keys it processed, in order. */
function recordingQueue(concurrency: number): { q: WorkQueue; ran: string[] } {
  const ran: string[] = [];
  const q = new WorkQueue({
    concurrency,
    errorPolicy: () => 10,
    handler: (key) => {
      ran.push(key);
      return Promise.resolve();
    },
  });
  q.resume();
  return { q, ran };
}

Deno.test("delayed keys share one timer; each runs once when due, earliest first; add() cancels a delay", async () => {
  // Counts the timers alive at once: the queue's (the test itself waits on the real setTimeout).
  const realSet = globalThis.setTimeout, realClear = globalThis.clearTimeout;
  const live = new Set<number>();
  let most = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    const id = realSet(() => {
      live.delete(id);
      fn();
    }, ms) as unknown as number;
    live.add(id);
    most = Math.max(most, live.size);
    return id;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((id?: number) => {
    if (id !== undefined) live.delete(id);
    realClear(id);
  }) as unknown as typeof clearTimeout;
  const { q, ran } = recordingQueue(4);
  try {
    for (let i = 0; i < 200; i++) q.addAfter(`k${i}`, 40 + (199 - i) % 7); // due in 40–46 ms
    q.addAfter("first", 5);
    q.addAfter("k0", 500); // a later delay does not replace an earlier one
    q.addAfter("now", 60_000);
    q.add("now"); // runs at once; its delay is gone
    assertEquals(q.delayed, 201);
    assert(most <= 1, `${most} timers at once`);
    const deadline = Date.now() + 10_000;
    while (ran.length < 202) {
      if (Date.now() > deadline) throw new Error(`ran ${ran.length}`);
      await new Promise<void>((r) => realSet(r, 1));
    }
    assertEquals(ran.slice(0, 2), ["now", "first"]);
    assertEquals(new Set(ran).size, 202, "each key once");
    assertEquals(q.delayed, 0);
    assert(most <= 1, `${most} timers at once`);
    assertEquals(live.size, 0, "no timer while no key waits");
    // A delay cancelled by add() takes its timer with it (a 5-minute backoff would otherwise stay armed).
    q.addAfter("later", 300_000);
    assertEquals(live.size, 1);
    q.add("later");
    assertEquals(live.size, 0, "no timer after the only delay was cancelled");
  } finally {
    await q.close();
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
  assertEquals(live.size, 0, "close leaves no timer");
});

Deno.test("delayed keys found due together run earliest first", async () => {
  const { q, ran } = recordingQueue(1);
  try {
    q.addAfter("late", 30);
    q.addAfter("middle", 20);
    q.addAfter("early", 10);
    // A busy event loop (a loaded machine): when the timer fires, all three are due at once.
    const until = performance.now() + 50;
    while (performance.now() < until) { /* block the event loop */ }
    const deadline = Date.now() + 10_000;
    while (ran.length < 3) {
      if (Date.now() > deadline) throw new Error(`ran ${ran}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    assertEquals(ran, ["early", "middle", "late"]);
  } finally {
    await q.close();
  }
});

import { assert, assertEquals } from "../tests/_assert.ts";
import type { KubeClient, KubeObject, RequestOptions, WatchEvent } from "./kube/client.ts";
import { Informer } from "./informer.ts";
import { RESOURCES } from "./kube/resources.ts";
import { type CachePolicy, childCacheOptions, digestText } from "./projection.ts";

const OWNER = { apiVersion: "otus.homework/v1", kind: "MySQL", name: "m", uid: "m-1", controller: true };
/** A controller's policy as the MySQL controller's (reconcilers/mysql_cache.ts): its Secrets are those OWNER controls. */
const POLICY: CachePolicy = {
  domains: { labels: ["otus.homework", "app.kubernetes.io"], annotations: ["otus.homework"] },
  wholeSecret: (o) => (o.metadata?.ownerReferences ?? []).some((r: { uid?: string }) => r.uid === OWNER.uid),
};

/** A Secret as the API server stores it. */
function secret(name: string, rv: string, password: string, owned: boolean): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: "ns",
      resourceVersion: rv,
      labels: { "app.kubernetes.io/managed-by": "mysql-operator" },
      annotations: { "example.com/big": "x".repeat(1000) },
      ...(owned ? { ownerReferences: [OWNER] } : {}),
      managedFields: [{ manager: "x" }],
    },
    type: "Opaque",
    data: { password: btoa(password) },
  };
}

/** What a metadata-only answer carries of an object. */
function partial(obj: KubeObject): KubeObject {
  return {
    apiVersion: "meta.k8s.io/v1",
    kind: "PartialObjectMetadata",
    metadata: structuredClone(obj.metadata),
  };
}

/**
 * A fake API server for one namespace of Secrets: answers lists (metadata only when asked), one watch with the
 * given events, and GETs; records what was asked.
 */
function fakeClient(objects: KubeObject[], events: Array<WatchEvent>) {
  const asked = { accept: [] as Array<string | undefined>, gets: [] as string[] };
  const store = new Map(objects.map((o) => [o.metadata!.name!, o]));
  const metaOnly = (accept?: string) => accept?.includes("as=PartialObjectMetadata") ?? false;
  const client = {
    request(_m: string, _p: string, opts: RequestOptions) {
      asked.accept.push(opts.accept);
      const items = [...store.values()].map((o) => metaOnly(opts.accept) ? partial(o) : structuredClone(o));
      // As the API server answers: an empty metadata-only list has `items: null`.
      return Promise.resolve({ metadata: { resourceVersion: "10" }, items: items.length ? items : null });
    },
    getOrUndefined(path: string) {
      asked.gets.push(path);
      const o = store.get(path.split("/").at(-1)!);
      return Promise.resolve(o && structuredClone(o));
    },
    async *watch(_p: string, _q: unknown, signal: AbortSignal, onOpen?: () => void, accept?: string) {
      asked.accept.push(accept);
      onOpen?.();
      for (const ev of events.splice(0)) {
        if (ev.object.metadata?.name) store.set(ev.object.metadata.name, ev.object);
        if (ev.type === "DELETED") store.delete(ev.object.metadata!.name!);
        yield { ...ev, object: metaOnly(accept) ? partial(ev.object) : ev.object };
      }
      // Like fetch: an aborted signal ends the watch at once, or when it aborts.
      if (!signal.aborted) await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
      throw signal.reason;
    },
  };
  return { client: client as unknown as KubeClient, asked };
}

async function runUntil(inf: Informer, done: () => boolean) {
  const ctl = new AbortController();
  const run = inf.run(ctl.signal);
  await inf.synced();
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  ctl.abort();
  await run;
}

Deno.test("Secrets are listed and watched as metadata; only the operator's own are read whole, and digested", async () => {
  const foreign = secret("foreign", "5", "x".repeat(100_000), false);
  const own = secret("m-credentials", "6", "otuspassword", true);
  const { client, asked } = fakeClient([foreign, own], [
    { type: "MODIFIED", object: secret("foreign", "11", "y", false) },
    { type: "MODIFIED", object: secret("m-credentials", "12", "changed", true) },
    { type: "DELETED", object: secret("foreign", "13", "y", false) },
  ]);
  const changes: string[] = [];
  const inf = new Informer(client, {
    resource: RESOURCES.secret,
    namespace: "ns",
    labelSelector: "app.kubernetes.io/managed-by=mysql-operator",
    ...childCacheOptions("Secret", POLICY),
    onChange: (o, deleted) =>
      changes.push(`${o.metadata?.name}@${o.metadata?.resourceVersion}${deleted ? "-" : ""}`),
  });
  let listed: KubeObject[] = [];
  const ctl = new AbortController();
  const run = inf.run(ctl.signal);
  await inf.synced();
  listed = inf.list();
  for (let i = 0; i < 100 && !changes.includes("foreign@13-"); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const after = inf.get("ns/m-credentials");
  ctl.abort();
  await run;

  // After the list: the foreign Secret as metadata (typed as a Secret), the own one whole with digests.
  const byName = new Map(listed.map((o) => [o.metadata?.name, o]));
  assertEquals(byName.get("foreign")?.kind, "Secret");
  assertEquals(byName.get("foreign")?.apiVersion, "v1");
  assertEquals(byName.get("foreign")?.data, undefined);
  assertEquals(byName.get("foreign")?.metadata?.annotations, undefined, "foreign annotations dropped");
  assertEquals(byName.get("m-credentials")?.data, { password: digestText("otuspassword") });
  assertEquals(byName.get("m-credentials")?.metadata?.managedFields, undefined);
  // Every list and watch asked for metadata only; GETs: the own Secret after the list and after its change.
  assert(asked.accept.every((a) => a?.includes("as=PartialObjectMetadata")), JSON.stringify(asked.accept));
  assertEquals(asked.gets, [
    "/api/v1/namespaces/ns/secrets/m-credentials",
    "/api/v1/namespaces/ns/secrets/m-credentials",
  ]);
  assertEquals(after?.data, { password: digestText("changed") });
  assertEquals(inf.get("ns/foreign"), undefined);
  assertEquals(changes.slice(-3), ["foreign@11", "m-credentials@12", "foreign@13-"]);
});

Deno.test("an empty metadata-only list (items: null) syncs", async () => {
  const { client } = fakeClient([], []);
  const inf = new Informer(client, {
    resource: RESOURCES.secret,
    ...childCacheOptions("Secret", POLICY),
    onChange: () => {},
  });
  await runUntil(inf, () => true);
  assertEquals(inf.list(), []);
});

Deno.test("other child kinds are listed whole and projected page by page", async () => {
  const dep: KubeObject = {
    metadata: { name: "d", namespace: "ns", resourceVersion: "3", annotations: { "example.com/x": "y" } },
    spec: { replicas: 1 },
    status: { availableReplicas: 1, collisionCount: 2 },
  };
  const { client, asked } = fakeClient([dep], []);
  const inf = new Informer(client, {
    resource: RESOURCES.deployment,
    namespace: "ns",
    ...childCacheOptions("Deployment", POLICY),
    onChange: () => {},
  });
  await runUntil(inf, () => true);
  assertEquals(asked.accept[0], undefined, "a plain list");
  assertEquals(asked.gets, []);
  assertEquals(inf.get("ns/d"), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "ns", resourceVersion: "3" },
    spec: { replicas: 1 },
    status: { availableReplicas: 1 },
  });
});

/**
 * A watch that yields what the test pushes and otherwise stays silent, like a half-open connection: no event, no
 * error, until the informer gives up on it (aborts). Counts the watches opened.
 */
function silentWatchClient() {
  const state = { watches: 0, push: (_ev: WatchEvent) => {} };
  const client = {
    request: () => Promise.resolve({ metadata: { resourceVersion: "10" }, items: [] }),
    async *watch(_p: string, _q: unknown, signal: AbortSignal, onOpen?: () => void) {
      state.watches++;
      onOpen?.();
      const queue: WatchEvent[] = [];
      let wake = () => {};
      state.push = (ev) => {
        queue.push(ev);
        wake();
      };
      const aborted = new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const ev = queue.shift();
        if (ev) yield ev;
        else await Promise.race([aborted, new Promise<void>((r) => wake = r)]);
      }
    },
  };
  return { client: client as unknown as KubeClient, state };
}

Deno.test("a watch silent for 90 s counts as dropped: the default idle timeout, re-armed by every event", async () => {
  // Timers of a minute or more are held here instead of run (the test fires the idle timer itself); shorter ones,
  // the test's own polling included, are real. The operator's informers (runtime/cluster_runtime.ts) use the
  // default idle timeout, as this one does.
  const held: Array<{ id: number; ms: number; fire: () => void; cleared: boolean }> = [];
  const realSetTimeout = globalThis.setTimeout, realClearTimeout = globalThis.clearTimeout;
  let nextId = 1_000_000_000;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    if ((ms ?? 0) < 60_000) return realSetTimeout(fn, ms);
    held.push({ id: nextId, ms: ms!, fire: fn, cleared: false });
    return nextId++;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id?: number) => {
    const t = held.find((h) => h.id === id);
    if (t) t.cleared = true;
    else realClearTimeout(id);
  }) as typeof clearTimeout;
  const armed = () => held.filter((h) => !h.cleared);
  const until = async (what: string, cond: () => boolean) => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => realSetTimeout(r, 5));
    assert(cond(), what);
  };
  const { client, state } = silentWatchClient();
  const restarts: string[] = [];
  const inf = new Informer(client, {
    resource: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
    namespace: "ns",
    onChange: () => {},
    onRestart: (reason) => restarts.push(reason),
  });
  const ctl = new AbortController();
  const run = inf.run(ctl.signal);
  try {
    await inf.synced();
    await until("the watch to open with an idle timer", () => state.watches === 1 && armed().length === 1);
    assertEquals(armed().map((h) => h.ms), [90_000], "one idle timer of 90 s");

    // An event is not silence: the timer starts again from it.
    const first = armed()[0];
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "ns", resourceVersion: "11" },
    };
    state.push({ type: "ADDED", object: cm });
    await until("the event to be cached", () => inf.get("ns/c") !== undefined);
    assert(first.cleared, "the event cleared the timer that was running");
    assertEquals(armed().map((h) => h.ms), [90_000], "and armed a new one of 90 s");
    assertEquals(restarts, [], "no restart while events arrive");

    // 90 s of silence: the watch counts as dropped (reason idle) and a new one opens from the last version.
    armed()[0].fire();
    await until("a new watch after the idle timeout", () => state.watches === 2);
    assertEquals(restarts, ["idle"]);
    assertEquals(inf.resourceVersion, "11", "resumed from the last event's resourceVersion");
  } finally {
    ctl.abort();
    await run;
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }
});

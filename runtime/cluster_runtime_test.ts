import { assert, assertEquals } from "../tests/_assert.ts";
import { getLogger } from "@logtape/logtape";
import type { KubeObject } from "./kube/client.ts";
import { collectionPath, type Resource } from "./kube/resources.ts";
import type { Caches, Controller } from "./controller.ts";
import { ClusterRuntime } from "./cluster_runtime.ts";
import { OperatorMetrics } from "./metrics.ts";

// Resources no controller of this repository knows: the runtime must serve any controller alike.
const WIDGET: Resource = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const PART: Resource = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
const NODE: Resource = { group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false };

const obj = (ns: string | undefined, name: string, extra: KubeObject["metadata"] = {}): KubeObject => ({
  metadata: { ...(ns ? { namespace: ns } : {}), name, resourceVersion: "1", ...extra },
});

/** An API server that lists fixed objects per collection and holds every watch open until the client leaves. */
function fakeApiServer(collections: Record<string, KubeObject[]>) {
  const asked: string[] = [];
  const watches = new Set<ReadableStreamDefaultController>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.searchParams.get("watch")) {
      let ctl: ReadableStreamDefaultController;
      const body = new ReadableStream({
        start: (c) => void watches.add(ctl = c),
        cancel: () => void watches.delete(ctl),
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    asked.push(`${url.pathname}?${url.searchParams.get("labelSelector") ?? ""}`);
    const items = collections[url.pathname] ?? [];
    return Response.json({ kind: "List", metadata: { resourceVersion: "1" }, items });
  });
  const shutdown = () => {
    for (const c of watches) c.close();
    return server.shutdown();
  };
  return { server, asked, shutdown };
}

Deno.test("a runtime serves any controller: For, Owns and Watches queue keys in the served namespaces only", async () => {
  const { server, asked, shutdown } = fakeApiServer({
    [collectionPath(WIDGET, "a")]: [obj("a", "w1")],
    [collectionPath(PART, "a")]: [obj("a", "p1", { labels: { owner: "w2" } }), obj("a", "p2")],
    [collectionPath(NODE)]: [obj(undefined, "n1", { annotations: { widgets: "a/w3,b/w4" } })],
  });
  const reconciled: string[] = [];
  let caches: Caches | undefined;
  const controller: Controller<{ cluster: string; caches: Caches }> = {
    for: { resource: WIDGET },
    owns: [{
      resource: PART,
      labelSelector: "owner",
      mapToKey: (o) => o.metadata?.labels?.owner && `${o.metadata.namespace}/${o.metadata.labels.owner}`,
    }],
    // b/w4 is outside the served namespaces: the runtime drops it, whatever the controller maps to.
    watches: [{ resource: NODE, mapToKeys: (o) => o.metadata?.annotations?.widgets.split(",") ?? [] }],
    context: (env) => (caches = env.caches, { cluster: env.cluster, caches: env.caches }),
    reconcile: (ctx, key) => {
      assertEquals(ctx.cluster, "test");
      reconciled.push(key);
      return Promise.resolve();
    },
    errorPolicy: () => 1_000,
  };
  const metrics = new OperatorMetrics();
  const runtime = new ClusterRuntime({
    name: "test",
    connection: { server: `http://127.0.0.1:${server.addr.port}` },
    namespaces: ["a"],
    controller,
    concurrency: 2,
    metrics,
    log: getLogger(["test"]),
  });
  const stop = new AbortController();
  const running = runtime.run(stop.signal);
  for (let i = 0; i < 200 && reconciled.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  const health = runtime.health();
  stop.abort();
  await running;
  await shutdown();

  assertEquals([...new Set(reconciled)].sort(), ["a/w1", "a/w2", "a/w3"]);
  assertEquals(asked.sort(), [
    "/api/v1/namespaces/a/configmaps?owner",
    "/api/v1/nodes?",
    "/apis/example.com/v1/namespaces/a/widgets?",
  ]);
  assertEquals(caches!.get(WIDGET, "a/w1")?.metadata?.name, "w1");
  assertEquals(caches!.get(WIDGET, "b/w4"), undefined, "an unserved namespace has no cache");
  assertEquals(caches!.list(PART, "a").map((o) => o.metadata?.name).sort(), ["p1", "p2"]);
  assertEquals(caches!.list(NODE).map((o) => o.metadata?.name), ["n1"]);
  assert(health.synced && health.leading, JSON.stringify(health));
  assertEquals(metrics.reconciles.get({ cluster: "test", result: "success" }), reconciled.length);
});

/**
 * Watches that break for real: a connection dropped mid-watch, a half-open connection that goes silent, and a
 * resourceVersion compacted away (410 Gone) — each noticed, recovered, and with every change made during the gap
 * seen afterwards. The informer talks to a real API server through a TCP proxy the test can cut.
 */
import { assert } from "./_assert.ts";
import {
  apiServerPid,
  ensureNamedClusters,
  freshNamespace,
  kubectl,
  startCluster,
  waitFor,
} from "./_clusters.ts";
import { clustersWithCRD, compactEtcd, courseObject, kubectlApply, waitCondition } from "./_k8s.ts";
import { startProxy } from "../tools/fault_proxy.ts";
import { startOperatorProcess } from "./_operator.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { KubeClient, type KubeObject } from "../runtime/kube/client.ts";
import { Informer } from "../runtime/informer.ts";
import { parse, stringify } from "yaml";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[1];

async function directConnection(context = ctx, path = kubeconfig) {
  return await connectionFor(loadKubeconfig({ path }), context);
}

function configMap(ns: string, name: string, value: string): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { value } };
}

Deno.test("a dropped watch, a silent connection and a 410 are noticed and recovered without losing changes", async () => {
  // A cluster of its own: this test restarts its API server.
  const own = await ensureNamedClusters(["mo-watch-1"]);
  const ctx = own.contexts[0];
  const ns = await freshNamespace(ctx, "watch");
  const conn = await directConnection(ctx, own.kubeconfig);
  const proxy = startProxy(conn.server);
  const client = new KubeClient({ ...conn, server: proxy.url });
  const restarts: string[] = [];
  const deletions = new Set<string>();
  const informer = new Informer(client, {
    resource: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
    namespace: ns.name,
    idleTimeoutMs: 3_000, // bookmarks arrive about once a minute; a short idle timeout proves silence is caught
    onChange: (o, deleted) => {
      if (deleted) deletions.add(o.metadata!.name!);
    },
    onRestart: (reason) => restarts.push(reason),
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  const value = (name: string) => informer.get(`${ns.name}/${name}`)?.data?.value;
  try {
    await informer.synced();
    await kubectlApply(ctx, configMap(ns.name, "before", "1"));
    await waitFor("the informer to see 'before'", () => value("before") === "1");

    // 1. Dropped connection: changes made while it is down are seen after it returns.
    proxy.cut();
    await kubectlApply(ctx, configMap(ns.name, "during-cut", "2"));
    await kubectlApply(ctx, configMap(ns.name, "before", "changed"));
    await waitFor(
      "the informer to notice the drop",
      () => !informer.state.connected || restarts.includes("reconnect"),
    );
    proxy.restore();
    await waitFor(
      "changes made during the cut",
      () => value("during-cut") === "2" && value("before") === "changed",
    );
    assert(restarts.includes("reconnect"), `restarts: ${restarts}`);

    // 2. Half-open connection: bytes stop, the socket stays; the idle timeout notices.
    proxy.freeze();
    await kubectlApply(ctx, configMap(ns.name, "during-freeze", "3"));
    await waitFor("the idle timeout to fire", () => restarts.includes("idle"), 20_000);
    proxy.restore();
    await waitFor("changes made while frozen", () => value("during-freeze") === "3", 20_000);

    // 3. 410 Gone: while cut, objects change, etcd compacts away the informer's resourceVersion and the API
    // server restarts (its new watch cache starts after that version, as after any API server restart).
    proxy.cut();
    await kubectl(ctx, "delete", "configmap", "before", "-n", ns.name);
    await kubectlApply(ctx, configMap(ns.name, "during-compaction", "4"));
    await compactEtcd(own.names[0]);
    const pid = await apiServerPid(own.names[0]);
    assert(pid, "the API server runs");
    Deno.kill(pid, "SIGKILL");
    await waitFor("the API server to die", async () => (await apiServerPid(own.names[0])) === undefined);
    await startCluster(own.names[0]);
    proxy.restore();
    await waitFor(
      "a relist after 410 with every change",
      () => value("during-compaction") === "4" && value("before") === undefined && deletions.has("before"),
      30_000,
    );
    assert(restarts.includes("expired"), `expected a 410 relist; restarts: ${restarts}`);
  } finally {
    stop.abort();
    proxy.restore();
    await running;
    await proxy.close();
    client.close();
    await ns.cleanup().catch((e) => console.error(`cleanup: ${e.message}`)); // never hide the test's own error
  }
});

Deno.test("the operator resumes after its connection is cut and serves what was created meanwhile", async () => {
  const ns = await freshNamespace(ctx, "opcut");
  const conn = await directConnection();
  const proxy = startProxy(conn.server);
  const kc = parse(await Deno.readTextFile(kubeconfig));
  const contextEntry = kc.contexts.find((c: { name: string }) => c.name === ctx);
  const clusterEntry = kc.clusters.find((c: { name: string }) => c.name === contextEntry.context.cluster);
  clusterEntry.cluster.server = proxy.url;
  const proxied = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(proxied, stringify(kc));
  const op = await startOperatorProcess([
    "--kubeconfig",
    proxied,
    "--context",
    ctx,
    "--namespace",
    ns.name,
    "--no-leader-elect",
  ]);
  try {
    await kubectlApply(ctx, await courseObject(ns.name, {}, "first"));
    await waitCondition(ctx, ns.name, "first", "Ready", "True");
    proxy.cut();
    await kubectlApply(ctx, await courseObject(ns.name, {}, "second"));
    await waitFor("readyz to report the cluster disconnected", async () => {
      const r = JSON.parse((await op.http("/readyz")).body);
      return r.clusters[0].connected === false;
    }, 30_000);
    proxy.restore();
    await waitCondition(ctx, ns.name, "second", "Ready", "True", undefined, 60_000);
    const metrics = (await op.http("/metrics")).body;
    const restarts = [...metrics.matchAll(/mysql_operator_watch_restarts_total\{[^}]*\} (\d+)/g)]
      .reduce((a, m) => a + Number(m[1]), 0);
    assert(restarts > 0, "watch restarts are counted");
    // Every watch back, not only those the second object needed: an informer that saw nothing may still be in
    // its reconnect backoff (up to 5 s) when the object gets Ready.
    let last = "";
    await waitFor("readyz to report the cluster connected again", async () => {
      last = (await op.http("/readyz")).body;
      return JSON.parse(last).clusters[0].connected === true;
    }, 30_000).catch((err) => {
      throw new Error(`${err.message}: ${last}`);
    });
  } catch (err) {
    console.error(await op.logs());
    throw err;
  } finally {
    await op.stop();
    await proxy.close();
    await Deno.remove(proxied);
    await ns.cleanup();
  }
});

/**
 * One chaos run on prepared clusters: fresh namespaces, a fault proxy per cluster, two operators through the
 * proxies, the run's own watches straight to the API servers, the initial objects, then the schedule played in
 * time; after the window every fault is healed and the run waits (up to the settle limit) for the end state; then
 * the invariants are checked over what was recorded and what the API servers' audit logs say the operators wrote.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { MYSQL_RESOURCE } from "../../api/resource.ts";
import type { BenchClusters } from "../../bench/clusters.ts";
import { createNamespace, pool, removeNamespace } from "../../bench/workload.ts";
import { readAuditEvents } from "../cluster/audit.ts";
import { clusterPaths, contextName } from "../cluster/paths.ts";
import { type ApiProxy, startProxy } from "../fault_proxy.ts";
import type { KubeClient } from "../../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../../runtime/kube/resources.ts";
import { NAMESPACE_LABEL } from "../../templates/labels.ts";
import { UserActions } from "./actions.ts";
import { Faults } from "./faults.ts";
import {
  type ChaosFinal,
  type ChaosHistory,
  checkInvariants,
  jobsLeftBehind,
  stuckObjects,
} from "./invariants.ts";
import { Operators } from "./operators.ts";
import { ClusterRecorder, idOf } from "./recorder.ts";
import { healthyLatency, type RunFigures } from "./report.ts";
import { type ChaosEvent, chaosSchedule, initialObjects, NAMESPACES } from "./schedule.ts";

/** What one run is asked to do. */
export interface RunOptions {
  seed: number;
  objects: number;
  durationMs: number;
  outageMs: number;
  settleMs: number;
  leaseSeconds: number;
  faults: boolean;
  log: (m: string) => void;
}

/**
 * Removes the run's namespaces (dropping MySQL finalizers: no operator runs now) and creates them again. The
 * finalizers are dropped again on every look until the namespace is gone: a list can fail right after the
 * cluster or the CRD was (re)started (a suite run saw 7 objects keep their finalizer and the namespace stay).
 */
async function freshNamespaces(client: KubeClient): Promise<void> {
  await Promise.all(NAMESPACES.map(async (ns) => {
    const dropFinalizers = async () => {
      const objs = await client.list(collectionPath(MYSQL_RESOURCE, ns)).catch(() => ({ items: [] }));
      await pool(objs.items.filter((o) => o.metadata?.finalizers?.length), 16, async (o) => {
        await client.mergePatch(objectPath(MYSQL_RESOURCE, ns, idOf(o).name), {
          metadata: { finalizers: null },
        }, "chaos").catch(() => {});
      });
    };
    await dropFinalizers();
    const gone = removeNamespace(client, ns, 120_000);
    let done = false;
    gone.finally(() => done = true);
    while (!done) {
      await new Promise((r) => setTimeout(r, 2_000));
      if (!done) await dropFinalizers();
    }
    if (!(await gone)) throw new Error(`namespace ${ns} did not go`);
    // The volumes go once their claims have (pv-protection): gone before the run's watches start, so an earlier
    // run's volumes are never counted as this run's deletions.
    const deadline = performance.now() + 120_000;
    const selector = { labelSelector: `${NAMESPACE_LABEL}=${ns}` };
    while ((await client.list(collectionPath(RESOURCES.pv), selector)).items.length > 0) {
      if (performance.now() > deadline) throw new Error(`the volumes of namespace ${ns} did not go`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await createNamespace(client, ns);
  }));
}

/** The operators' kubeconfig: the benchmark identity's, with every server replaced by its proxy. */
async function proxiedKubeconfig(
  c: BenchClusters,
  proxies: Record<string, ApiProxy>,
  dir: string,
): Promise<string> {
  const kc = parse(await Deno.readTextFile(c.kubeconfigs["bench-operator"]));
  for (const cl of kc.clusters) cl.cluster.server = proxies[cl.name.replace(/^kwok-/, "")].url;
  const path = `${dir}/kubeconfig-chaos-operator.yaml`;
  await Deno.writeTextFile(path, stringify(kc), { mode: 0o600 });
  return path;
}

const sleepUntil = async (now: () => number, at: number) => {
  const wait = at - now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
};

/** Runs once (with or without faults) and returns its figures. */
export async function chaosRun(c: BenchClusters, workDir: string, o: RunOptions): Promise<RunFigures> {
  const log = (m: string) => o.log(`${o.faults ? "chaos" : "calm"}: ${m}`);
  const names = c.names;
  const client = (name: string) => c.admin[contextName(name)];
  log("fresh namespaces");
  await Promise.all(names.map((n) => freshNamespaces(client(n))));
  const proxies = Object.fromEntries(names.map((n) => [n, startProxy(c.servers[contextName(n)])]));
  const kubeconfig = await proxiedKubeconfig(c, proxies, workDir);
  const run = crypto.randomUUID().slice(0, 6);
  const ops = new Operators(
    [
      "--kubeconfig",
      kubeconfig,
      ...c.contexts.flatMap((x) => ["--context", x]),
      "--lease-duration-seconds",
      String(o.leaseSeconds),
    ],
    Object.fromEntries(names.map((n) => [n, client(n)])),
    run,
    log,
  );
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const inScope = (ns: string) => (NAMESPACES as readonly string[]).includes(ns);
  const recorders = Object.fromEntries(
    names.map((n) => [n, new ClusterRecorder(n, client(n), inScope, now)]),
  );
  const actions = Object.fromEntries(names.map((n) => [
    n,
    new UserActions(
      n,
      client(n),
      (ns, name, uid, sentAt) => recorders[n].created(ns, name, uid, sentAt),
      now,
    ),
  ]));
  const faults = new Faults(proxies, log, now);
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>, what: string) => {
    const q = p.catch((e) => log(`${what}: ${(e as Error).message}`)).finally(() => pending.delete(q));
    pending.add(q);
  };
  const since = new Date();
  try {
    await Promise.all(Object.values(recorders).map((r) => r.start()));
    await ops.start();
    t0 = performance.now();
    log(`operators up; creating ${o.objects} objects per cluster`);
    for (const n of names) {
      track(
        pool(initialObjects(o.objects), 16, (x) => actions[n].create(x.namespace, x.name)),
        `initial objects of ${n}`,
      );
    }
    const schedule = chaosSchedule({
      seed: o.seed,
      clusters: names.length,
      objects: o.objects,
      durationMs: o.durationMs,
      outageMs: o.outageMs,
      faults: o.faults,
    });
    const dispatch = (e: ChaosEvent): Promise<void> => {
      switch (e.kind) {
        case "kill":
          return ops.kill(e.target, e.restartAfterMs).then(() => {});
        case "api-stop":
        case "api-hang":
          return e.kind === "api-stop"
            ? faults.apiStop(names[e.cluster], e.forMs)
            : faults.apiHang(names[e.cluster], e.forMs);
        case "net":
          return Promise.resolve(faults.net(names[e.cluster], e.mode, e.forMs, e.delayMs));
        case "compact":
          return faults.compact(names[e.cluster]).then(() => {});
        case "delete-namespace":
          return actions[names[e.cluster]].deleteNamespace(e.namespace);
        case "user":
          return actions[names[e.cluster]].run(e.namespace, e.name, e.action, e.at);
      }
    };
    // What one user does to one object happens in order (a delete never overtakes the slow create before it);
    // a cluster's outages and compactions too (a compaction waits for the stopped control plane to be back, as
    // the schedule meant, even when the cluster tool's lock delayed the stop).
    const chains = new Map<string, Promise<void>>();
    const inOrder = (key: string | undefined, fn: () => Promise<void>): Promise<void> => {
      if (key === undefined) return fn();
      const p = (chains.get(key) ?? Promise.resolve()).then(fn);
      chains.set(key, p.catch(() => {}));
      return p;
    };
    const chainOf = (e: ChaosEvent) =>
      e.kind === "user"
        ? `user/${e.cluster}/${e.namespace}/${e.name}`
        : e.kind === "api-stop" || e.kind === "api-hang" || e.kind === "compact"
        ? `outage/${e.cluster}`
        : undefined;
    for (const e of schedule) {
      await sleepUntil(now, e.at);
      const fault = e.kind !== "user" && e.kind !== "delete-namespace";
      track(
        inOrder(chainOf(e), () => dispatch(e)).catch((err) => {
          if (!fault) throw err;
          faults.failed.push(`${e.kind} at ${e.at} ms: ${(err as Error).message}`);
        }),
        `${e.kind} at ${e.at}`,
      );
    }
    await sleepUntil(now, o.durationMs);
    // A fault the schedule put late in a cluster's chain (after a slow control plane restart) still acts in full
    // before the heal, so no fault ever starts after the window is declared over.
    log(`window over: waiting for ${pending.size} faults and user actions still running`);
    await Promise.all(pending);
    log("healing every fault");
    await faults.heal();
    await ops.restartMissing();
    const windowEnd = now();
    let settleMs: number | undefined;
    let final: ChaosFinal | undefined;
    let polls = 0;
    const deletedNamespaces = schedule.flatMap((e) =>
      e.kind === "delete-namespace" ? [{ cluster: names[e.cluster], namespace: e.namespace }] : []
    );
    const collect = async (): Promise<ChaosFinal> => ({
      mysqls: Object.values(recorders).flatMap((r) => r.mysqlStates()),
      jobs: Object.values(recorders).flatMap((r) => r.jobStates()),
      foreign: (await Promise.all(Object.values(actions).map((a) => a.foreignNow()))).flat(),
      deletedNamespaces,
    });
    for (;;) {
      final = await collect();
      if (stuckObjects(final).length === 0 && jobsLeftBehind(final).length === 0) {
        settleMs = now() - windowEnd;
        break;
      }
      if (now() - windowEnd > o.settleMs) break;
      if (++polls % 15 === 0) {
        log(`not settled: ${[...stuckObjects(final), ...jobsLeftBehind(final)].slice(0, 5).join("; ")}`);
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
    log(
      settleMs === undefined ? "did not settle" : `settled ${Math.round(settleMs / 1000)} s after the window`,
    );
    const ua = `mysql-operator (chaos-${run}-`;
    const paths = await clusterPaths();
    const operatorWrites = (await Promise.all(names.map(async (n) =>
      (await readAuditEvents(paths, n, since)).filter((e) =>
        e.userAgent?.startsWith(ua)
      ).map((e) => ({
        cluster: n,
        verb: e.verb,
        resource: e.objectRef?.resource ?? "",
        namespace: e.objectRef?.namespace,
        name: e.objectRef?.name,
        code: e.responseStatus?.code ?? 0,
        by: e.userAgent ?? "",
      }))
    ))).flat();
    const recs = Object.values(recorders);
    const history: ChaosHistory = {
      incarnations: recs.flatMap((r) => [...r.incarnations.values()]),
      volumesDeleted: recs.flatMap((r) =>
        r.volumesDeleted
      ),
      children: recs.flatMap((r) => r.children),
      foreign: Object.values(actions).flatMap((a) => a.foreign),
      operatorWrites,
    };
    const sum = (maps: Map<string, number>[]) => {
      const out: Record<string, number> = {};
      for (const m of maps) for (const [k, v] of m) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    return {
      faults: o.faults,
      durationMs: o.durationMs,
      settleMs,
      settleLimitMs: o.settleMs,
      violations: checkInvariants(history, final!),
      // An outage's end: its API server answers again; the controllers and watches need a moment more.
      latency: healthyLatency(
        recs.flatMap((r) => r.creations),
        faults.outages.map((o) => ({ ...o, to: o.to + 10_000 })),
      ),
      faultsDone: Object.fromEntries(faults.done),
      faultFailures: faults.failed,
      userActions: sum(Object.values(actions).map((a) => a.outcomes)),
      operators: {
        restarts: ops.restarts,
        handovers: recs.reduce((n, r) => n + r.handovers, 0),
        watchRestarts: await ops.watchRestarts(),
        peakRssMB: Math.round(ops.peakRssBytes / 1024 / 102.4) / 10,
      },
      counts: {
        incarnations: history.incarnations.length,
        volumesDeleted: history.volumesDeleted.length,
        foreignObjects: history.foreign.length,
        creations: recs.reduce((n, r) => n + r.creations.length, 0),
      },
    };
  } finally {
    await faults.heal().catch((e) => log(`heal: ${e.message}`));
    await ops.stop().catch((e) => log(`stopping the operators: ${e.message}`));
    await Promise.all(Object.values(recorders).map((r) => r.stop()));
    await Promise.all(Object.values(proxies).map((p) => p.close()));
  }
}

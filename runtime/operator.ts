/**
 * The operator process: one {@linkcode ClusterRuntime} per selected context, each running the given controller, the
 * HTTP endpoints, and graceful shutdown. A context that cannot be loaded is reported by name and the others are
 * served.
 *
 * @module
 */
import type { KubeConfig } from "./kube/config.ts";
import { getLogger } from "@logtape/logtape";
import { ClusterRuntime } from "./cluster_runtime.ts";
import { connectionFor, IN_CLUSTER } from "./kube/config.ts";
import type { Connection } from "./kube/client.ts";
import { DEFAULT_LEASE, leaseNameFor, type LeaseOptions } from "./lease.ts";
import { clusterLogger, LOG_CATEGORY } from "./logging.ts";
import { OperatorMetrics } from "./metrics.ts";
import { serveHttp } from "./http_server.ts";
import type { Controller } from "./controller.ts";
import { type DirScan, planClusters, scanKubeconfigDir } from "./kubeconfig_dir.ts";

/** Settings of a running operator. */
export interface OperatorOptions<Context> {
  kubeconfig?: KubeConfig;
  contexts: string[];
  /** Serve the cluster the pod runs in (service-account token). */
  inCluster?: Connection;
  namespaces: string[];
  concurrency: number;
  httpAddr?: string;
  /** This process's identity: the lease holder name and part of every request's User-Agent. */
  identity?: string;
  /** Leader election per cluster; undefined disables it. */
  lease?: { namespace: string; name: string; identity: string; leaseDurationMs: number };
  /** What every cluster runs (e.g. reconcilers/mysql_controller.ts). */
  controller: Controller<Context>;
  /** Also serve the contexts of the kubeconfig files in this directory, followed while running. */
  kubeconfigDir?: string;
  /** How often the directory is read besides file-system events (default 2000 ms). */
  kubeconfigDirPollMs?: number;
}

/** A started operator. */
export interface RunningOperator {
  /** The clusters served now (a directory followed adds and removes them). */
  runtimes: ClusterRuntime<unknown>[];
  failed: Array<{ cluster: string; error: string }>;
  metrics: OperatorMetrics;
  /** The bound HTTP address, if serving. */
  httpPort?: number;
  /** Stops everything gracefully (idempotent). */
  stop(): Promise<void>;
  /** Resolves when stopped. */
  done: Promise<void>;
}

/** The User-Agent of a process with this identity: `mysql-operator (<identity>)`. */
export function userAgent(identity: string): string {
  return `mysql-operator (${identity})`;
}

/** A cluster being served: its runtime, how to stop it, and its connection's fingerprint (followed ones). */
interface Served<Context> {
  runtime: ClusterRuntime<Context>;
  stop: AbortController;
  onStopAll: () => void;
  running: Promise<void>;
  fingerprint?: string;
}

/** Starts the operator. Throws only when no context at all can be served (and no directory is followed). */
export async function startOperator<Context>(opts: OperatorOptions<Context>): Promise<RunningOperator> {
  const log = getLogger([LOG_CATEGORY]);
  const metrics = new OperatorMetrics();
  const failed: RunningOperator["failed"] = [];
  // Operators serving different namespace sets of one cluster elect separately.
  const leaseName = opts.lease ? leaseNameFor(opts.lease.name, opts.namespaces) : "";
  const identity = opts.identity ?? opts.lease?.identity;
  const lease: LeaseOptions | undefined = opts.lease
    ? {
      ...DEFAULT_LEASE,
      namespace: opts.lease.namespace,
      name: leaseName,
      identity: opts.lease.identity,
      leaseDurationMs: opts.lease.leaseDurationMs,
      renewDeadlineMs: Math.round(opts.lease.leaseDurationMs * 2 / 3),
      retryPeriodMs: Math.max(500, Math.round(opts.lease.leaseDurationMs / 7.5)),
      renewPeriodMs: Math.round(opts.lease.leaseDurationMs / 3),
    }
    : undefined;

  const serving = new Map<string, Served<Context>>();
  const runtimes: ClusterRuntime<Context>[] = [];
  const stopAll = new AbortController();

  const serve = (name: string, conn: Connection, fingerprint?: string) => {
    const connection = { ...conn, ...(identity ? { userAgent: userAgent(identity) } : {}) };
    // Exported from the start: a missing series would read as "no errors" to anyone alerting on it.
    metrics.reconcileErrors.inc({ cluster: name }, 0);
    const runtime = new ClusterRuntime({
      name,
      connection,
      namespaces: opts.namespaces,
      controller: opts.controller,
      concurrency: opts.concurrency,
      lease,
      metrics,
      log: clusterLogger(name),
    });
    const stop = new AbortController();
    const onStopAll = () => stop.abort();
    stopAll.signal.addEventListener("abort", onStopAll, { once: true });
    log.info("serving context {cluster} at {server}", { cluster: name, server: runtime.client.server });
    serving.set(name, { runtime, stop, onStopAll, running: runtime.run(stop.signal), fingerprint });
    runtimes.push(runtime);
  };
  /** Stops one cluster: in-flight passes finish, its watches stop, its lease is released. */
  const unserve = async (name: string) => {
    const s = serving.get(name);
    if (!s) return;
    serving.delete(name);
    stopAll.signal.removeEventListener("abort", s.onStopAll);
    runtimes.splice(runtimes.indexOf(s.runtime), 1);
    s.stop.abort();
    await s.running;
    metrics.forgetCluster(name);
    log.info("stopped serving context {cluster}", { cluster: name });
  };

  const targets: Array<{ name: string; connect: () => Promise<Connection> }> = [];
  if (opts.inCluster) targets.push({ name: IN_CLUSTER, connect: () => Promise.resolve(opts.inCluster!) });
  for (const name of opts.contexts) {
    targets.push({
      name,
      connect: () => connectionFor(opts.kubeconfig!, name),
    });
  }
  for (const t of targets) {
    try {
      serve(t.name, await t.connect());
    } catch (err) {
      const error = (err as Error).message;
      failed.push({ cluster: t.name, error });
      log.error("cannot serve context {cluster}: {error}", { cluster: t.name, error });
    }
  }
  if (serving.size === 0 && !opts.kubeconfigDir) {
    throw new Error(`no context can be served: ${failed.map((f) => f.error).join("; ") || "none selected"}`);
  }
  const fixed = new Set(serving.keys());
  const dirProblems: DirScan["errors"] = [];
  const following = opts.kubeconfigDir
    ? followDir(opts.kubeconfigDir, opts.kubeconfigDirPollMs ?? 2_000, stopAll.signal, async (scan) => {
      dirProblems.splice(0, dirProblems.length, ...scan.errors);
      const running = new Map(
        [...serving].filter(([n]) => !fixed.has(n)).map(([n, s]) => [n, s.fingerprint ?? ""]),
      );
      const plan = planClusters(running, scan.clusters, fixed);
      for (const name of plan.stop) await unserve(name);
      for (const c of plan.restart) {
        log.info("context {cluster} changed in {file}: reconnecting", { cluster: c.name, file: c.file });
        await unserve(c.name);
        serve(c.name, c.connection, c.fingerprint);
      }
      for (const c of plan.start) serve(c.name, c.connection, c.fingerprint);
    }, log)
    : Promise.resolve();

  const httpStop = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (opts.httpAddr) {
    server = serveHttp(opts.httpAddr, {
      metrics,
      health: () => ({
        clusters: runtimes.map((r) => r.health()),
        failed,
        ...(opts.kubeconfigDir ? { kubeconfigDirProblems: dirProblems } : {}),
      }),
    }, httpStop.signal);
    log.info("HTTP endpoints on {addr} (/healthz, /readyz, /metrics)", {
      addr: `${server.addr.hostname}:${server.addr.port}`,
    });
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      log.info("shutting down: no new work; in-flight reconciles finish; leases are released");
      stopAll.abort();
      await following;
      await Promise.all([...serving.values()].map((s) => s.running));
      httpStop.abort();
      await server?.finished;
      log.info("stopped");
    })();
  // Without a directory to follow, the operator ends when every cluster's runtime has ended.
  const done = opts.kubeconfigDir
    ? new Promise<void>((resolve) =>
      stopAll.signal.addEventListener("abort", () => resolve(stop()), { once: true })
    )
    : Promise.all([...serving.values()].map((s) => s.running)).then(() => stopping ?? stop());
  return { runtimes, failed, metrics, httpPort: server?.addr.port, stop, done };
}

/**
 * Reads the directory now, then again on every file-system event in it (debounced) and every `pollMs` (events
 * can be missed, e.g. on network file systems), calling `apply` with each scan, one at a time, until `signal`.
 */
async function followDir(
  dir: string,
  pollMs: number,
  signal: AbortSignal,
  apply: (scan: DirScan) => Promise<void>,
  log: ReturnType<typeof getLogger>,
): Promise<void> {
  let wake: () => void = () => {};
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(dir);
    (async () => {
      for await (const _ of watcher!) wake();
    })().catch(() => {});
  } catch (err) {
    log.warn("cannot watch {dir} ({error}): reading it every {ms} ms", {
      dir,
      error: (err as Error).message,
      ms: pollMs,
    });
  }
  const reported = new Set<string>();
  while (!signal.aborted) {
    const scan = await scanKubeconfigDir(dir);
    for (const e of scan.errors) {
      const key = `${e.file}: ${e.error}`;
      if (!reported.has(key)) log.error("kubeconfig {file}: {error}", { file: e.file, error: e.error });
    }
    reported.clear();
    for (const e of scan.errors) reported.add(`${e.file}: ${e.error}`);
    await apply(scan);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(t);
        // Editors and kubectl write in steps: read once the burst is over.
        setTimeout(resolve, 200);
      };
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
  watcher?.close();
}

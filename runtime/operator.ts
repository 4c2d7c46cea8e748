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
import {
  type DirScan,
  follow,
  type OfferedCluster,
  planClusters,
  scanClusterSecrets,
  scanKubeconfigDir,
} from "./cluster_sources.ts";
import { KubeClient } from "./kube/client.ts";
import { ShardBook } from "./shard.ts";
import { clusterConcurrency } from "./work_queue.ts";

/** Settings of a running operator. */
export interface OperatorOptions<Context> {
  kubeconfig?: KubeConfig;
  contexts: string[];
  /** Serve the cluster the pod runs in (service-account token). */
  inCluster?: Connection;
  namespaces: string[];
  /** Passes at once per cluster, at most. */
  concurrency: number;
  /** Passes at once in the whole process, split between the clusters served (runtime/work_queue.ts). */
  totalConcurrency?: number;
  httpAddr?: string;
  /** This process's identity: the lease holder name and part of every request's User-Agent. */
  identity?: string;
  /** Leader election per cluster; undefined disables it. */
  lease?: { namespace: string; name: string; identity: string; leaseDurationMs: number };
  /**
   * Share the clusters with the other replicas electing on the same Leases: lead at most ceil(clusters / live
   * replicas) of them (default true; needs `lease`). False: lead every cluster whose Lease is free.
   */
  shard?: boolean;
  /** What every cluster runs (e.g. reconcilers/mysql_controller.ts). */
  controller: Controller<Context>;
  /** Also serve the contexts of the kubeconfig files in this directory, followed while running. */
  kubeconfigDir?: string;
  /**
   * Also serve the clusters of the Secrets matching `selector` in `namespace` (each holding a kubeconfig), read
   * through the in-cluster connection, else the first context; followed while running.
   */
  clusterSecrets?: { namespace: string; selector: string; pauseAnnotation?: string };
  /** Contexts whose reconciling is paused on purpose (their caches are kept). */
  pausedContexts?: string[];
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

  const shard = lease && opts.shard !== false ? new ShardBook(lease.identity) : undefined;
  const serving = new Map<string, Served<Context>>();
  const runtimes: ClusterRuntime<Context>[] = [];
  const stopAll = new AbortController();

  const share = (clusters: number) =>
    clusterConcurrency(opts.concurrency, opts.totalConcurrency ?? Infinity, clusters);
  const reshare = () => {
    for (const s of serving.values()) s.runtime.queue.setConcurrency(share(serving.size));
  };

  const serve = (name: string, conn: Connection, fingerprint?: string, paused = false) => {
    const connection = { ...conn, ...(identity ? { userAgent: userAgent(identity) } : {}) };
    // Exported from the start: a missing series would read as "no errors" to anyone alerting on it.
    metrics.reconcileErrors.inc({ cluster: name }, 0);
    const runtime = new ClusterRuntime({
      name,
      connection,
      namespaces: opts.namespaces,
      controller: opts.controller,
      concurrency: share(serving.size + 1),
      lease,
      shard,
      metrics,
      log: clusterLogger(name),
      paused: paused || (opts.pausedContexts ?? []).includes(name),
    });
    const stop = new AbortController();
    const onStopAll = () => stop.abort();
    stopAll.signal.addEventListener("abort", onStopAll, { once: true });
    if (stopAll.signal.aborted) stop.abort(); // started by a scan that was under way when the process stopped
    log.info("serving context {cluster} at {server}", { cluster: name, server: runtime.client.server });
    serving.set(name, { runtime, stop, onStopAll, running: runtime.run(stop.signal), fingerprint });
    runtimes.push(runtime);
    shard?.setClusters(serving.size);
    reshare();
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
    shard?.forget(name);
    shard?.setClusters(serving.size);
    reshare();
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
  const followed = Boolean(opts.kubeconfigDir || opts.clusterSecrets);
  if (serving.size === 0 && !followed) {
    throw new Error(`no context can be served: ${failed.map((f) => f.error).join("; ") || "none selected"}`);
  }
  const fixed = new Set(serving.keys());
  const dirProblems: DirScan["errors"] = [];
  // The Secrets are read through the in-cluster connection, else the first context given.
  const secretsClient = opts.clusterSecrets
    ? new KubeClient(opts.inCluster ?? await connectionFor(opts.kubeconfig!, opts.contexts[0]))
    : undefined;
  const scanAll = async (): Promise<DirScan> => {
    const scans = await Promise.all([
      opts.kubeconfigDir ? scanKubeconfigDir(opts.kubeconfigDir) : { clusters: [], errors: [] },
      opts.clusterSecrets
        ? scanClusterSecrets(
          secretsClient!,
          opts.clusterSecrets.namespace,
          opts.clusterSecrets.selector,
          opts.clusterSecrets.pauseAnnotation,
        )
        : { clusters: [], errors: [] },
    ]);
    const merged: DirScan = { clusters: [], errors: scans.flatMap((x) => x.errors) };
    for (const c of scans.flatMap((x) => x.clusters)) {
      const first = merged.clusters.find((m) => m.name === c.name);
      if (first) {
        merged.errors.push({
          file: c.file,
          error: `context "${c.name}" is already offered by ${first.file}`,
        });
      } else merged.clusters.push(c);
    }
    return merged;
  };
  const connectErrors = new Set<string>();
  const following = followed
    ? follow(scanAll, opts.kubeconfigDir, opts.kubeconfigDirPollMs ?? 2_000, stopAll.signal, async (scan) => {
      const problems = [...scan.errors];
      const running = new Map(
        [...serving].filter(([n]) => !fixed.has(n)).map(([n, s]) => [n, s.fingerprint ?? ""]),
      );
      const plan = planClusters(running, scan.clusters, fixed);
      const start = async (c: OfferedCluster) => {
        try {
          serve(c.name, await c.connect(), c.fingerprint, c.paused);
        } catch (err) {
          // Not served; tried again at the next scan (and said once).
          const error = (err as Error).message;
          problems.push({ file: c.file, error });
          if (!connectErrors.has(error)) log.error("kubeconfig {file}: {error}", { file: c.file, error });
          connectErrors.add(error);
        }
      };
      for (const name of plan.stop) await unserve(name);
      for (const c of plan.restart) {
        log.info("context {cluster} changed in {file}: reconnecting", { cluster: c.name, file: c.file });
        await unserve(c.name);
        await start(c);
      }
      for (const c of plan.start) await start(c);
      dirProblems.splice(0, dirProblems.length, ...problems);
    }, log).finally(() => secretsClient?.close())
    : Promise.resolve();

  const httpStop = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (opts.httpAddr) {
    server = serveHttp(opts.httpAddr, {
      metrics,
      health: () => ({
        clusters: runtimes.map((r) => r.health()),
        ...(shard ? { shard: { replicas: shard.live(), share: shard.cap(), leading: shard.held } } : {}),
        failed,
        ...(followed ? { kubeconfigDirProblems: dirProblems } : {}),
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
  const done = followed
    ? new Promise<void>((resolve) =>
      stopAll.signal.addEventListener("abort", () => resolve(stop()), { once: true })
    )
    : Promise.all([...serving.values()].map((s) => s.running)).then(() => stopping ?? stop());
  return { runtimes, failed, metrics, httpPort: server?.addr.port, stop, done };
}

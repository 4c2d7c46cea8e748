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
}

/** A started operator. */
export interface RunningOperator {
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

/** Starts the operator. Throws only when no context at all can be served. */
export async function startOperator<Context>(opts: OperatorOptions<Context>): Promise<RunningOperator> {
  const log = getLogger([LOG_CATEGORY]);
  const metrics = new OperatorMetrics();
  const failed: RunningOperator["failed"] = [];
  const runtimes: ClusterRuntime<Context>[] = [];
  // Operators serving different namespace sets of one cluster elect separately.
  const leaseName = opts.lease ? leaseNameFor(opts.lease.name, opts.namespaces) : "";

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
      const identity = opts.identity ?? opts.lease?.identity;
      const connection = { ...await t.connect(), ...(identity ? { userAgent: userAgent(identity) } : {}) };
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
      // Exported from the start: a missing series would read as "no errors" to anyone alerting on it.
      metrics.reconcileErrors.inc({ cluster: t.name }, 0);
      runtimes.push(
        new ClusterRuntime({
          name: t.name,
          connection,
          namespaces: opts.namespaces,
          controller: opts.controller,
          concurrency: opts.concurrency,
          lease,
          metrics,
          log: clusterLogger(t.name),
        }),
      );
    } catch (err) {
      const error = (err as Error).message;
      failed.push({ cluster: t.name, error });
      log.error("cannot serve context {cluster}: {error}", { cluster: t.name, error });
    }
  }
  if (runtimes.length === 0) {
    throw new Error(`no context can be served: ${failed.map((f) => f.error).join("; ") || "none selected"}`);
  }

  const stopAll = new AbortController();
  const running = runtimes.map((r) => {
    log.info("serving context {cluster} at {server}", { cluster: r.name, server: r.client.server });
    return r.run(stopAll.signal);
  });
  const httpStop = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (opts.httpAddr) {
    server = serveHttp(opts.httpAddr, {
      metrics,
      health: () => ({ clusters: runtimes.map((r) => r.health()), failed }),
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
      await Promise.all(running);
      httpStop.abort();
      await server?.finished;
      log.info("stopped");
    })();
  const done = Promise.all(running).then(() => stopping ?? stop());
  return { runtimes, failed, metrics, httpPort: server?.addr.port, stop, done };
}

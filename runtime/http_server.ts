/**
 * The operator's HTTP endpoints: `/healthz` (the process serves), `/readyz` (every selected cluster has synced;
 * per-cluster detail as JSON) and `/metrics` (Prometheus text).
 *
 * @module
 */
import type { ClusterHealth } from "./cluster_runtime.ts";
import type { OperatorMetrics } from "./metrics.ts";

/** What the endpoints read. */
export interface HttpSources {
  metrics: OperatorMetrics;
  /**
   * Health of every runtime, plus contexts that failed to load (not ready), and files of a followed kubeconfig
   * directory that cannot be used (reported only: they must not take the other clusters' endpoints away).
   */
  health(): {
    clusters: ClusterHealth[];
    /** When replicas share the clusters: the live replicas seen, this one's share, and how many it leads. */
    shard?: { replicas: string[]; share: number; leading: number };
    failed: Array<{ cluster: string; error: string }>;
    kubeconfigDirProblems?: Array<{ file: string; error: string }>;
  };
}

/** Parses `host:port` (`:8080` means all interfaces). */
export function parseAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  if (i < 0) throw new Error(`--http-addr ${JSON.stringify(addr)} must be host:port`);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port in --http-addr ${addr}`);
  return { hostname: addr.slice(0, i) || "0.0.0.0", port };
}

/** Starts the server; returns it (its `addr` has the bound port). */
export function serveHttp(
  addr: string,
  src: HttpSources,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = parseAddr(addr);
  return Deno.serve({ hostname, port, signal, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      const h = src.health();
      const ready = h.failed.length === 0 && h.clusters.every((c) => c.synced);
      return Response.json({ ready, ...h }, { status: ready ? 200 : 503 });
    }
    if (path === "/metrics") {
      src.health(); // refreshes gauges
      return new Response(src.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    return new Response("not found\n", { status: 404 });
  });
}

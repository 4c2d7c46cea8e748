/**
 * The chaos run's faults, done to real parts: an API server stopped (the cluster tool's stop and start: every
 * control-plane process goes), an API server hung (SIGSTOP of its kube-apiserver: connections stay open and
 * nothing answers), the network between the operators and an API server cut, frozen half-open or slowed (the
 * fault proxy), and an etcd compaction at the current revision followed by a restart of the control plane (the
 * operators' watches resume from compacted resourceVersions: 410 Gone). Every fault ends by itself after its time; `heal()` ends them all at once.
 *
 * @module
 */
import { startCluster, stopCluster } from "../cluster/clusters.ts";
import { clusterPaths } from "../cluster/paths.ts";
import { compactNow, etcdUrl } from "../cluster/etcd.ts";
import { clusterState, componentPid } from "../cluster/state.ts";
import type { ApiProxy } from "../fault_proxy.ts";

/** Faults of one run: per cluster name, its proxy. */
export class Faults {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #stopped = new Set<string>();
  readonly #hung = new Map<string, number>();
  /** Faults done, by kind (`api-stop`, `net:cut` …), and the ones that failed to start. */
  readonly done = new Map<string, number>();
  readonly failed: string[] = [];

  /** When each cluster's API server was really down or hung (run clock), for the latency figures. */
  readonly outages: Array<{ cluster: string; from: number; to: number }> = [];

  constructor(
    readonly proxies: Record<string, ApiProxy>,
    readonly log: (m: string) => void,
    readonly now: () => number,
  ) {}

  #count(kind: string): void {
    this.done.set(kind, (this.done.get(kind) ?? 0) + 1);
  }

  #after(ms: number, fn: () => Promise<void> | void): void {
    const t = setTimeout(async () => {
      this.#timers.delete(t);
      try {
        await fn();
      } catch (e) {
        this.failed.push(`ending a fault: ${(e as Error).message}`);
      }
    }, ms);
    this.#timers.add(t);
  }

  /** Stops a cluster for `forMs`, then starts it; returns once it is started again. */
  async apiStop(cluster: string, forMs: number): Promise<void> {
    const quiet = () => {};
    const from = this.now();
    await stopCluster(cluster, quiet);
    this.#stopped.add(cluster);
    this.#count("api-stop");
    this.log(`${cluster}: control plane stopped for ${forMs} ms`);
    await new Promise((r) => setTimeout(r, forMs));
    await this.#start(cluster);
    this.outages.push({ cluster, from, to: this.now() });
  }

  async #start(cluster: string): Promise<void> {
    if (!this.#stopped.has(cluster)) return;
    await startCluster(cluster, () => {});
    this.#stopped.delete(cluster);
    this.log(`${cluster}: control plane started again`);
  }

  /** Hangs a cluster's kube-apiserver (SIGSTOP) for `forMs`; returns once it runs again. */
  async apiHang(cluster: string, forMs: number): Promise<void> {
    const pid = await componentPid(await clusterPaths(), cluster, "kube-apiserver");
    if (pid === undefined) throw new Error(`${cluster}: no kube-apiserver pid`);
    const from = this.now();
    Deno.kill(pid, "SIGSTOP");
    this.#hung.set(cluster, pid);
    this.#count("api-hang");
    this.log(`${cluster}: kube-apiserver ${pid} hung for ${forMs} ms`);
    await new Promise((r) => setTimeout(r, forMs));
    this.#resume(cluster);
    this.outages.push({ cluster, from, to: this.now() });
  }

  #resume(cluster: string): void {
    const pid = this.#hung.get(cluster);
    if (pid === undefined) return;
    try {
      Deno.kill(pid, "SIGCONT");
    } catch { /* gone */ }
    this.#hung.delete(cluster);
    this.log(`${cluster}: kube-apiserver resumed`);
  }

  /** Cuts, freezes or slows the operators' connections to a cluster for `forMs`. */
  net(cluster: string, mode: "cut" | "freeze" | "delay", forMs: number, delayMs: number): void {
    const p = this.proxies[cluster];
    if (mode === "cut") p.cut();
    else if (mode === "freeze") p.freeze();
    else p.delay(delayMs);
    this.#count(`net:${mode}`);
    this.#after(forMs, () => p.restore());
  }

  /**
   * Compacts the cluster's etcd at its current revision, then restarts its control plane: the API server's watch
   * cache would still serve the old resourceVersions, and its restart empties it, so every watch resuming from
   * before the compaction is answered 410 Gone. Through the cluster tool's stop and start (as the outages), whose
   * stop now waits until the components have exited: started right after kwokctl's stop, the API server still
   * held its port, the start failed and the short form waited minutes on a cluster left stopped.
   */
  async compact(cluster: string): Promise<number> {
    const revision = await compactNow(await etcdUrl(await clusterPaths(), cluster));
    const from = this.now();
    this.proxies[cluster].cut();
    await stopCluster(cluster, () => {});
    this.#stopped.add(cluster);
    await this.#start(cluster);
    this.proxies[cluster].restore();
    this.outages.push({ cluster, from, to: this.now() });
    this.#count("compact");
    this.log(`${cluster}: etcd compacted at revision ${revision}; control plane restarted`);
    return revision;
  }

  /** Ends every fault now: starts stopped clusters, resumes hung API servers, restores the proxies. */
  async heal(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of [...this.#hung.keys()]) this.#resume(c);
    for (const c of [...this.#stopped]) await this.#start(c);
    // Whatever else left a component dead (a fault that failed half-way): started, so the end state is judged on
    // a working cluster.
    const paths = await clusterPaths();
    for (const c of Object.keys(this.proxies)) {
      if ((await clusterState(paths, c)).components.every((x) => x.alive)) continue;
      this.log(`${c}: a control plane component is down after the faults; starting it`);
      await startCluster(c, () => {}).catch((e) => this.failed.push(`healing ${c}: ${(e as Error).message}`));
    }
    for (const p of Object.values(this.proxies)) p.restore();
  }
}

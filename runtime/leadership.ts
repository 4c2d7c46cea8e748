/**
 * One cluster's leadership: its elector with the metrics and log lines every transition gets, and, when replicas
 * share clusters (runtime/shard.ts), the gate the elector asks and this process's member slot in the cluster.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { KubeClient } from "./kube/client.ts";
import { LeaderElector, type LeaseGate, type LeaseOptions } from "./lease.ts";
import type { OperatorMetrics } from "./metrics.ts";
import type { ShardBook } from "./shard.ts";
import { runMembership } from "./membership.ts";

/** What a cluster's leadership needs. */
export interface LeadershipOptions {
  cluster: string;
  client: KubeClient;
  lease: LeaseOptions;
  metrics: OperatorMetrics;
  log: Logger;
  /** Shared with the other clusters of this process; undefined: lead every cluster this process can. */
  shard?: ShardBook;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** Stop the work and resolve true once none is in flight within `ms` (before handing the cluster over). */
  handOver(ms: number): Promise<boolean>;
}

/** A cluster's elector and member slot. */
export interface Leadership {
  elector: LeaderElector;
  /** Campaigns (and keeps the member slot) until `signal` aborts; releases both. */
  run(signal: AbortSignal): Promise<void>;
}

/** Builds a cluster's leadership. */
export function leadership(o: LeadershipOptions): Leadership {
  const { cluster, lease, metrics: m, log, shard } = o;
  let lastHolder = "";
  const errorOnce = (what: string) => {
    let last = "";
    return (err: unknown) => {
      // A lease error keeps this process from reconciling the cluster (e.g. 403 Forbidden on leases): say so
      // once per distinct error at warning level, not every retry period.
      const error = (err as Error)?.message ?? String(err);
      if (error === last) return log.debug("{what}: {error}", { what, error });
      last = error;
      log.warn("{what} {lease}: {error}", { what, lease: lease.name, error });
    };
  };
  const gate: LeaseGate | undefined = shard && {
    reserve: () => shard.reserve(cluster),
    settle: (leading) => shard.settle(cluster, leading),
    expired: (holder) => shard.suspect(holder),
    excess: () => shard.excess(cluster),
  };
  const elector = new LeaderElector(o.client, lease, {
    onStartedLeading: () => {
      m.leader.set({ cluster }, 1);
      log.info("acquired lease {lease}: reconciling this cluster", { lease: lease.name });
      o.onStartedLeading();
    },
    onStoppedLeading: () => {
      m.leader.set({ cluster }, 0);
      m.forgetInstances(cluster);
      o.onStoppedLeading();
      log.warn("lost lease {lease}: stopped reconciling this cluster", { lease: lease.name });
    },
    onHolder: (holder) => {
      // One series per cluster: the previous holder's goes, or a failover would show two holders.
      m.leaseHolder.delete({ cluster, holder: lastHolder });
      lastHolder = holder;
      m.leaseHolder.set({ cluster, holder }, 1);
      log.info("lease holder is {holder}", { holder: holder || "(none)" });
    },
    onError: errorOnce("lease"),
    handOver: async (ms) => {
      const live = shard?.live().length, cap = shard?.cap();
      log.info("handing this cluster over: {held} led, {cap} is this replica's share of {live} replicas", {
        held: shard?.held,
        cap,
        live,
      });
      return await o.handOver(ms);
    },
  }, gate);
  m.leader.set({ cluster }, 0);
  const run = async (signal: AbortSignal) => {
    const membership = shard && runMembership({
      client: o.client,
      cluster,
      namespace: lease.namespace,
      lease: lease.name,
      identity: lease.identity,
      // A round per lease duration (4 lists and 4 updates a minute per cluster at 15 s): a replica that joins is
      // seen within one, and one that dies while leading is counted out when its cluster Lease runs out (the
      // elector's suspicion), so the slots themselves may expire slowly (three rounds).
      leaseDurationMs: 3 * lease.leaseDurationMs,
      periodMs: lease.leaseDurationMs,
      book: shard,
      onError: errorOnce("member slot of"),
    }, signal);
    await Promise.all([elector.run(signal), membership]);
  };
  return { elector, run };
}

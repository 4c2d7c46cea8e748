/**
 * Sharing clusters between operator replicas: each process leads at most ceil(clusters / live replicas) of the
 * clusters it serves, through the per-cluster Leases it already takes (runtime/lease.ts). Which replicas are live
 * comes from the member records of every cluster (runtime/membership.ts); a holder whose cluster Lease ran out is
 * counted out at once, so its clusters are taken over within the lease time rather than after its member records
 * also expire.
 *
 * No I/O here: the electors ask before taking a Lease ({@linkcode ShardBook.reserve}) and after each renewal whether
 * to hand the cluster over ({@linkcode ShardBook.excess}); the Leases themselves keep any cluster from being led by
 * two processes, whatever the books of the processes say.
 *
 * @module
 */
import { fnv1a64 } from "./fnv.ts";
import { byCodeUnits } from "./order.ts";

/** One process's book of the clusters it leads and the replicas it sees. */
export class ShardBook {
  /** This process's identity (its Lease holder name). */
  readonly identity: string;
  #clusters = 0;
  readonly #held = new Set<string>();
  readonly #pending = new Set<string>();
  /** Live identities as each cluster's member records show them. */
  readonly #alive = new Map<string, Set<string>>();
  /** Holders seen letting a cluster Lease run out: not counted until their member record changes again. */
  readonly #suspects = new Set<string>();

  /** A book for the process named `identity`. */
  constructor(identity: string) {
    this.identity = identity;
  }

  /** How many clusters this process serves (the clusters to share). */
  setClusters(count: number): void {
    this.#clusters = count;
  }

  /** Forgets a cluster no longer served. */
  forget(cluster: string): void {
    this.#held.delete(cluster);
    this.#pending.delete(cluster);
    this.#alive.delete(cluster);
  }

  /**
   * What one cluster's member records say: who is live, and whose record changed in this round (a suspect whose
   * record changes is alive after all: it lost one cluster, not its life).
   */
  members(cluster: string, alive: readonly string[], changed: readonly string[] = []): void {
    this.#alive.set(cluster, new Set(alive));
    for (const id of changed) this.#suspects.delete(id);
    const all = this.#union();
    for (const id of this.#suspects) if (!all.has(id)) this.#suspects.delete(id); // bounded: only live ones
  }

  /** A holder let a cluster's Lease expire (seen by that cluster's elector). */
  suspect(identity: string): void {
    if (identity && identity !== this.identity) this.#suspects.add(identity);
  }

  #union(): Set<string> {
    const all = new Set<string>([this.identity]);
    for (const ids of this.#alive.values()) for (const id of ids) all.add(id);
    return all;
  }

  /** The live replicas, this one included. */
  live(): string[] {
    return [...this.#union()].filter((id) => !this.#suspects.has(id)).sort();
  }

  /** The most clusters this process may lead now. */
  cap(): number {
    return shardCap(this.#clusters, this.live().length);
  }

  /** Clusters led now. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Whether this process may try to take `cluster`'s Lease now; a yes holds a place until {@linkcode settle}, so
   * that electors of several clusters trying at once cannot together pass the cap.
   */
  reserve(cluster: string): boolean {
    if (this.#held.has(cluster) || this.#pending.has(cluster)) return true;
    if (this.#held.size + this.#pending.size >= this.cap()) return false;
    this.#pending.add(cluster);
    return true;
  }

  /** The outcome of an attempt: whether this process leads `cluster` now. */
  settle(cluster: string, leading: boolean): void {
    this.#pending.delete(cluster);
    if (leading) this.#held.add(cluster);
    else this.#held.delete(cluster);
  }

  /** Whether `cluster` is one this process should hand over now (it leads more than its cap). */
  excess(cluster: string): boolean {
    return this.#held.has(cluster) &&
      toHandOver(this.identity, [...this.#held], this.cap()).includes(cluster);
  }
}

/** ceil(clusters / replicas), at least 1 while there is a cluster: every cluster can be led. */
export function shardCap(clusters: number, replicas: number): number {
  return clusters === 0 ? 0 : Math.max(1, Math.ceil(clusters / Math.max(1, replicas)));
}

/**
 * Which of the clusters `identity` leads it hands over to come down to `cap`: those it ranks lowest by a hash of
 * (identity, cluster) — the same choice on every call, so a process never hands over one cluster and then another
 * in its place, and different processes keep different clusters.
 */
export function toHandOver(identity: string, held: readonly string[], cap: number): string[] {
  if (held.length <= cap) return [];
  const score = (c: string) => fnv1a64(`${identity}\u0000${c}`);
  return [...held].sort((a, b) => byCodeUnits(score(a), score(b)) || byCodeUnits(a, b))
    .slice(0, held.length - cap);
}

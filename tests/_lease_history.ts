/**
 * Checkers of leadership over time, for tests that run several operator processes: from the Lease objects'
 * history (what the API server stored) and from the processes' own leading intervals.
 *
 * @module
 */
import type { KubeObject } from "../runtime/kube/client.ts";

/** One process leading one cluster from `from` to `to` (ms since the epoch). */
export interface LeadInterval {
  cluster: string;
  holder: string;
  from: number;
  to: number;
}

/**
 * Changes of holder in one Lease's successive records where the new holder took it before the old holder's lease
 * had run out (its last renewTime + leaseDurationSeconds). A hand-over through a record naming no holder is fine:
 * the old holder wrote it itself after it stopped.
 */
export function takenBeforeExpiry(records: KubeObject[]): string[] {
  const bad: string[] = [];
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1].spec ?? {}, b = records[i].spec ?? {};
    if (!a.holderIdentity || !b.holderIdentity || a.holderIdentity === b.holderIdentity) continue;
    const expiry = Date.parse(a.renewTime) + (a.leaseDurationSeconds ?? 0) * 1000;
    const taken = Date.parse(b.acquireTime ?? b.renewTime);
    if (!(taken >= expiry)) {
      bad.push(
        `${b.holderIdentity} took it at ${b.acquireTime} from ${a.holderIdentity}, renewed ${a.renewTime} for ${a.leaseDurationSeconds} s`,
      );
    }
  }
  return bad;
}

/** Pairs of intervals in which two different processes led the same cluster at the same time. */
export function leadingOverlaps(intervals: LeadInterval[]): string[] {
  const bad: string[] = [];
  const byCluster = Map.groupBy(intervals, (x) => x.cluster);
  for (const [cluster, list] of byCluster) {
    const sorted = [...list].sort((a, b) => a.from - b.from);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j].from < sorted[i].to; j++) {
        if (sorted[j].holder === sorted[i].holder) continue;
        const t = (ms: number) => new Date(ms).toISOString();
        bad.push(
          `${cluster}: ${sorted[i].holder} ${t(sorted[i].from)}–${t(sorted[i].to)} and ${
            sorted[j].holder
          } from ${t(sorted[j].from)}`,
        );
      }
    }
  }
  return bad;
}

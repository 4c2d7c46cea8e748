/**
 * What a deletion pass may do with the data: a pure function of facts, so every way to data loss is a row in a
 * table test (final_decision_test.ts). The data goes only after a verified final backup, when the user asked to
 * skip it, or when there never was any.
 *
 * @module
 */
import { backoffDelay, type BackoffOptions } from "../runtime/backoff.ts";

/** The facts a deletion pass decides on. */
export interface FinalFacts {
  /** `otus.homework/skip-final-backup: "true"`. */
  skipRequested: boolean;
  /**
   * This incarnation has (or had) data: status recorded a bound data claim, or a live read found a data claim or
   * volume of this object. Never inferred from a label-filtered cache.
   */
  hasData: boolean;
  /** A verified final backup is recorded (status.finalBackupTime). */
  finalBackupDone: boolean;
  /** A final backup Job is running or its outcome is still to be recorded. */
  backupBusy: boolean;
  /** The spec is invalid: no backup Job can be rendered. */
  specInvalid: boolean;
  /** The API server refused new objects in the namespace: it is being deleted (no Job can start there). */
  namespaceTerminating: boolean;
}

/** What the pass does. */
export type FinalDecision =
  /** Delete the data (and mysqld's children), then remove the finalizer. */
  | { action: "deleteData"; why: "skipRequested" | "noData" | "backedUp" }
  /** Keep every volume (Retain), mark the data volume as kept, remove the finalizer without deleting data. */
  | { action: "keepVolumes" }
  /** Wait for the running final backup. */
  | { action: "wait" }
  /** Cannot back up and will not delete: say why, keep everything. */
  | { action: "blocked"; why: "specInvalid" }
  /** Take (or retry) the final backup. */
  | { action: "backup" };

/** Decides a deletion pass. */
export function decideFinal(f: FinalFacts): FinalDecision {
  if (f.skipRequested) return { action: "deleteData", why: "skipRequested" };
  if (!f.hasData) return { action: "deleteData", why: "noData" };
  if (f.finalBackupDone) return { action: "deleteData", why: "backedUp" };
  // A terminating namespace accepts no new Job and loses every claim: the data stays on its retained volume.
  if (f.namespaceTerminating) return { action: "keepVolumes" };
  if (f.backupBusy) return { action: "wait" };
  if (f.specInvalid) return { action: "blocked", why: "specInvalid" };
  return { action: "backup" };
}

/** True for the API server's refusal to create anything in a namespace that is being deleted. */
export function isNamespaceTerminating(err: unknown): boolean {
  const e = err as { status?: number; message?: string };
  return e?.status === 403 && /because it is being terminated/.test(e.message ?? "");
}

/**
 * How much longer a deletion waits before its next final-backup attempt, after `attempts` failed ones, the last at
 * `lastFailureMs` (pure). With the operator's policy (`finalBackupRetry` in reconcilers/context.ts): 10 s after
 * the first failure, doubling with each failure, at most 5 minutes; no jitter (one object, one clock). 0 or less:
 * take the backup now.
 */
export function finalBackupRetryInMs(
  attempts: number,
  lastFailureMs: number,
  nowMs: number,
  policy: BackoffOptions,
): number {
  if (attempts <= 0) return 0;
  return lastFailureMs + backoffDelay(attempts, policy, () => 1) - nowMs;
}

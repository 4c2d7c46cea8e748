/**
 * What a deletion pass may do with the data: a pure function of facts, so every way to data loss is a row in a
 * table test (final_decision_test.ts). The data goes only after a verified final backup, when the user asked to
 * skip it, or when there never was any.
 *
 * @module
 */
import { backoffDelay, type BackoffOptions } from "../runtime/backoff.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { REASONS } from "../api/status.ts";
import type { DeletionReason } from "./readiness.ts";
import type { Ownership } from "./ownership.ts";

/** The facts a deletion pass decides on. */
export interface FinalFacts {
  /** `otus.homework/skip-final-backup: "true"`. */
  skipRequested: boolean;
  /**
   * This incarnation has (or had) data: status recorded a bound data claim, or a live read found a data claim or
   * volume of this object. Never inferred from a label-filtered cache.
   */
  hasData: boolean;
  /** A verified final backup is known: in status, or its Job's verified report read in this pass. */
  finalBackupDone: boolean;
  /**
   * The object as read from the API server already records it (status.finalBackupTime). The record is stored
   * before the data goes, so no data is ever deleted without a stored proof of its backup.
   */
  finalBackupRecorded: boolean;
  /** A final backup Job is running or its outcome is still to be recorded. */
  backupBusy: boolean;
  /** The spec is invalid: no backup Job can be rendered. */
  specInvalid: boolean;
  /** The API server refused new objects in the namespace: it is being deleted or gone (no Job can start there). */
  namespaceTerminating: boolean;
}

/**
 * Whether this incarnation has (or had) data: status recorded a bound data claim (a claim relabelled, adopted or
 * deleted by hand since does not make the operator forget it), or a live read found a data claim or volume that
 * is this object's (legacy ones included). A foreign claim or volume of that name is not this object's data.
 */
export function hasData(
  recordedClaimUID: string | undefined,
  dataClaim: Ownership | undefined,
  dataVolume: Ownership | undefined,
): boolean {
  const mine = (o: Ownership | undefined) => o === "ours" || o === "legacy";
  return Boolean(recordedClaimUID) || mine(dataClaim) || mine(dataVolume);
}

/** What the pass does. */
export type FinalDecision =
  /** Delete the data (and mysqld's children), then remove the finalizer. */
  | { action: "deleteData"; why: "skipRequested" | "noData" | "backedUp" }
  /** Write the verified final backup into status; the data goes in a later pass, once the write succeeded. */
  | { action: "record" }
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
  if (f.finalBackupDone) {
    return f.finalBackupRecorded ? { action: "deleteData", why: "backedUp" } : { action: "record" };
  }
  // A terminating namespace accepts no new Job and loses every claim: the data stays on its retained volume.
  if (f.namespaceTerminating) return { action: "keepVolumes" };
  if (f.backupBusy) return { action: "wait" };
  if (f.specInvalid) return { action: "blocked", why: "specInvalid" };
  return { action: "backup" };
}

/**
 * True for the API server's refusal to create anything in a namespace that is being deleted (403), or that is
 * gone already (404 naming the namespace: the namespace controller can finish while a custom resource is briefly
 * not served, leaving its objects behind). Either way no Job can ever start there.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  const e = err as { status?: number; message?: string };
  return (e?.status === 403 && /because it is being terminated/.test(e.message ?? "")) ||
    (e?.status === 404 && /: namespaces "[^"]+" not found$/.test(e.message ?? ""));
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

/**
 * The finalizer the API server adds for a foreground cascading deletion (`--cascade=foreground`). While the object
 * carries it, the garbage collector deletes every owned child, one made meanwhile included.
 */
export const FOREGROUND_FINALIZER = "foregroundDeletion";

/** What the final backup step of a deletion decides on (after decideFinal said `backup`). */
export interface FinalBackupFacts {
  /**
   * The garbage collector is still deleting the owned children (a foreground deletion): mysqld or a Job made now
   * would be deleted under the backup, so nothing is made until it is done.
   */
  collecting: boolean;
  /** Why the password (or the object store's keys) cannot be read, if it cannot (nothing is written then). */
  passwordProblem?: string;
  /** Which children are held by others, if any (nothing is written then). */
  conflict?: string;
  /** mysqld is available and its Service has an IP. */
  serving: boolean;
  /** Failed final-backup attempts of this deletion, and the last failure. */
  attempts: number;
  lastFailure?: { time: string; reason: string };
  /** A backup Job of this instance still runs (a stale one: its outcome comes first). */
  jobRunning: boolean;
  nowMs: number;
  policy: BackoffOptions;
}

/** The step: what Ready says, whether to start the final backup now, and when to look again. */
export interface FinalBackupStep {
  reason: DeletionReason;
  message: string;
  start: boolean;
  /** Milliseconds, or `secret`: the operator's Secret re-check interval (Secrets are not watched). */
  recheck: number | "secret";
}

/** Looking again this soon at a deletion that waits for something without a watch event of its own. */
export const FINAL_RECHECK_MS = 30_000;

/**
 * Decides the final backup step: waiting for a foreground deletion's garbage collection, blocked without a
 * password (or the object store's keys), refused with a foreign object in the way, waiting for mysqld, backing
 * off after a failed attempt, or starting (unless a backup Job still runs). The data is kept in every case; only
 * decideFinal lets it go.
 */
export function decideFinalBackup(f: FinalBackupFacts): FinalBackupStep {
  const running = { reason: REASONS.finalBackupRunning, message: "deleting: the final backup is running" };
  if (f.collecting) {
    return {
      reason: REASONS.finalBackupWaiting,
      message:
        "deleting: the garbage collector removes the owned children first (foreground deletion); mysqld " +
        "starts again for the final backup once it is done; the data is kept",
      start: false,
      // The collector's removal of its finalizer is an update of the object: its watch event brings the next pass.
      recheck: FINAL_RECHECK_MS,
    };
  }
  if (f.passwordProblem !== undefined) {
    return {
      reason: REASONS.finalBackupBlocked,
      message:
        `cannot take the final backup: ${f.passwordProblem}; restore it or set ${ANNOTATIONS.skipFinalBackup}=true`,
      start: false,
      recheck: "secret",
    };
  }
  if (f.conflict !== undefined) {
    return {
      reason: REASONS.nameConflict,
      message: `cannot take the final backup: ${f.conflict}; the data is kept`,
      start: false,
      recheck: FINAL_RECHECK_MS,
    };
  }
  if (!f.serving) {
    return {
      reason: REASONS.finalBackupWaiting,
      message: "deleting: waiting for mysqld to serve the final backup",
      start: false,
      recheck: FINAL_RECHECK_MS,
    };
  }
  if (f.attempts > 0 && f.lastFailure) {
    const remaining = finalBackupRetryInMs(f.attempts, Date.parse(f.lastFailure.time), f.nowMs, f.policy);
    if (remaining > 0) {
      return {
        reason: REASONS.finalBackupFailed,
        message:
          `deleting: final backup attempt ${f.attempts} failed (${f.lastFailure.reason}); retrying in ${
            Math.ceil(remaining / 1000)
          }s; the data is kept`,
        start: false,
        recheck: remaining,
      };
    }
  }
  return { ...running, start: !f.jobRunning, recheck: FINAL_RECHECK_MS };
}

/**
 * The decisions of the one restore of an incarnation, pure: from what the pass observed (the recorded outcome, the
 * backup marker, mysqld's availability, the restore Job and its verified report) to a plan (the `Restored`
 * condition, status facts, an event, what to do with the Job). reconcilers/restore.ts observes and acts;
 * restore_decision_test.ts is the table of states.
 *
 * @module
 */
import type { MySQLStatus, RestoreStatus } from "../api/mysql.ts";
import { REASONS } from "../api/status.ts";
import type {
  FailedReport,
  JobReport,
  NothingToRestoreReport,
  RestoredReport,
} from "../templates/job_report.ts";
import type { JobState } from "./jobs.ts";

/**
 * Restore attempts that could not connect (a new Service IP not routed yet, mysqld restarting, the object store
 * unreachable) before the restore is recorded as failed: with the pauses below, about 15 minutes of trying.
 */
export const MAX_RESTORE_ATTEMPTS = 8;

/** Pause after the n-th attempt that could not connect: 10 s, doubling, at most 5 minutes. */
export function restoreRetryDelayMs(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempt - 1), 300_000);
}

/**
 * What to do about the `attempt`-th restore Job, which could not connect and failed `sinceFailedMs` ago (pure):
 * give up and record the failure, start the next attempt, or keep waiting.
 */
export function afterConnectionFailure(attempt: number, sinceFailedMs: number): "giveUp" | "retry" | "wait" {
  if (attempt >= MAX_RESTORE_ATTEMPTS) return "giveUp";
  return sinceFailedMs >= restoreRetryDelayMs(attempt) ? "retry" : "wait";
}

/** What a finished restore Job amounts to (see {@linkcode restoreOutcome}). */
export type RestoreOutcome =
  | { kind: "restored"; report: RestoredReport }
  | { kind: "nothing"; report: NothingToRestoreReport }
  | { kind: "unverified" }
  | { kind: "failed"; report?: FailedReport };

/** The failure recorded for a restore Job that completed without its own verified report. */
export const UNVERIFIED = {
  reason: REASONS.unverified,
  message:
    "the restore Job completed without a verified report (one naming this Job's UID, with the restored " +
    "backup and its sha256, or NothingToRestore): what it loaded, if anything, is unknown",
} as const;

/**
 * What a finished restore Job amounts to (pure). `report` is the Job's verified report (readJobReport: only one
 * naming this Job's UID). Like a backup, a restore counts only with that report: a Job that merely completed (a
 * simulated pod, a report of another Job, a report of the wrong kind) is `unverified`, never `Restored`, because
 * nothing says which backup, if any, was loaded. A `Failed` report wins over the Job's own state.
 */
export function restoreOutcome(state: "succeeded" | "failed", report: JobReport | undefined): RestoreOutcome {
  if (report?.result === "Failed") return { kind: "failed", report };
  if (state === "failed") return { kind: "failed" };
  if (report?.result === "Restored") return { kind: "restored", report };
  if (report?.result === "NothingToRestore") return { kind: "nothing", report };
  return { kind: "unverified" };
}

/** Where the restore stands after this pass. */
export type RestoreProgress = "done" | "waiting" | "running" | "failed";

/** The restore Job of this name as observed. */
export interface RestoreJobFacts {
  uid?: string;
  /** Its controller is this incarnation. */
  mine: boolean;
  /** Its controller is an earlier MySQL object of this namespace and name (a leftover, never a conflict). */
  earlierIncarnation: boolean;
  state: JobState;
  /** When its Failed condition was set (0 when not failed or unknown). */
  failedAtMs: number;
  /** Reason and message of its Failed condition (reconcilers/jobs.ts `jobFailure`). */
  failure: { reason: string; message: string };
  /** What it amounts to, once finished and read (only for this incarnation's finished Job). */
  outcome?: RestoreOutcome;
}

/** What one restore pass decides on. */
export interface RestoreFacts {
  jobName: string;
  /** `status.restore` as this pass has it: recorded once, never restored again. */
  recorded?: RestoreStatus;
  /**
   * Time of the newest backup of this instance (the backup claim's or its volume's marker); with an object store,
   * where the restore Job looks (the operator does not read the store).
   */
  lastBackup?: string;
  /** mysqld is available and its Service has an IP. */
  serving: boolean;
  /** Why the restore Job could not start now (the object store's Secret), if it could not. */
  blocked?: string;
  job?: RestoreJobFacts;
  restoreAttempts: number;
  restoreRetriedJob?: string;
  /** The pass's time, RFC 3339 (what status records). */
  now: string;
}

/** What to do with the restore Job: start it, delete it now, or delete it once the status write succeeded. */
export type RestoreJobAction = "create" | "deleteNow" | "deleteAfterStatus";

/** One restore pass's plan. */
export interface RestorePlan {
  progress: RestoreProgress;
  /** The `Restored` condition, when it changes. */
  condition?: { status: "True" | "False"; reason: string; message: string };
  /** Status facts to record. */
  status?: Pick<MySQLStatus, "restore" | "restoreAttempts" | "restoreRetriedJob">;
  event?: { type: "Normal" | "Warning"; reason: string; message: string };
  job?: RestoreJobAction;
}

/**
 * Decides one restore pass: only when a backup of this instance exists, only once mysqld serves, the outcome from
 * the Job's own verified report, recorded once; connection failures retried with backoff, anything else never.
 */
export function decideRestore(f: RestoreFacts): RestorePlan {
  const { job, jobName } = f;
  if (f.recorded) {
    // Recorded: the Job, if still there, has done its work.
    return {
      progress: f.recorded.result === "Failed" ? "failed" : "done",
      ...(job?.mine && job.state !== "active" ? { job: "deleteAfterStatus" as const } : {}),
    };
  }
  if (!f.lastBackup) {
    const message = "no backup of this instance exists";
    return {
      progress: "done",
      status: { restore: { result: "NothingToRestore", time: f.now, message } },
      condition: { status: "True", reason: REASONS.nothingToRestore, message: `${message}; started empty` },
    };
  }
  const pending = (message: string, extra: Partial<RestorePlan> = {}): RestorePlan => ({
    progress: "waiting",
    condition: { status: "False", reason: REASONS.restorePending, message },
    ...extra,
  });
  if (!f.serving) return pending(`waiting for mysqld to be Ready to restore ${f.lastBackup}`);
  // Not started: its pod would wait for the Secret until the Job's deadline. Never an empty start either.
  if (f.blocked && !job) return pending(`cannot restore ${f.lastBackup}: ${f.blocked}`);
  if (job && !job.mine) {
    if (!job.earlierIncarnation) {
      const message = `Job ${jobName} exists and is not this MySQL's; the restore waits until it is gone`;
      return {
        progress: "waiting",
        condition: { status: "False", reason: REASONS.nameConflict, message },
        event: { type: "Warning", reason: REASONS.nameConflict, message },
      };
    }
    // A leftover of an earlier incarnation with the same name: remove it, never let it wedge us.
    return pending(`removing leftover Job ${jobName}`, { job: "deleteNow" });
  }
  const running = {
    status: "False" as const,
    reason: REASONS.restoring,
    message: `restore Job ${jobName} is running`,
  };
  if (!job) {
    return {
      progress: "running",
      job: "create",
      condition: running,
      event: {
        type: "Normal",
        reason: REASONS.restoreStarted,
        message: `restoring the newest backup (Job ${jobName})`,
      },
    };
  }
  if (job.state === "active" || !job.outcome) return { progress: "running", condition: running };
  const outcome = job.outcome;
  if (outcome.kind === "restored" || outcome.kind === "nothing") {
    const restored = outcome.kind === "restored";
    const { message } = outcome.report;
    const result = restored ? "Restored" : "NothingToRestore";
    const what =
      (restored ? `restored ${outcome.report.backup}` : "the restore found no backup of this instance") +
      (message ? ` (${message})` : "");
    return {
      progress: "done",
      status: {
        restore: {
          result,
          time: f.now,
          ...(restored ? { backup: outcome.report.backup } : {}),
          ...(restored && outcome.report.verifiedTables
            ? { verifiedTables: outcome.report.verifiedTables }
            : {}),
          ...(message ? { message } : {}),
        },
      },
      condition: { status: "True", reason: result, message: what },
      event: { type: "Normal", reason: result, message: what },
      job: "deleteAfterStatus",
    };
  }
  const failed = outcome.kind === "failed" ? outcome.report : undefined;
  // Could not reach mysqld, or the object store (which the script tells apart from "no backup"): nothing was
  // loaded, and another attempt may well succeed.
  const connection = failed?.reason === "ConnectionFailed" || failed?.reason === "DownloadFailed";
  if (connection && job.uid === f.restoreRetriedJob) {
    return { progress: "waiting" }; // counted and deleted already: the cache has not seen the deletion yet
  }
  const attempt = f.restoreAttempts + 1;
  const next = connection ? afterConnectionFailure(attempt, Date.parse(f.now) - job.failedAtMs) : "giveUp";
  if (next !== "giveUp") {
    // Nothing was loaded: try again after a pause that grows with each attempt, then give up. The pause is
    // measured from the failed Job; the count is in status, so a restart of the operator neither resets nor
    // repeats it.
    const what = failed?.reason === "DownloadFailed"
      ? "could not read the object store"
      : "could not connect to mysqld";
    const message = `${what} (${failed?.message}); attempt ${attempt} of ${MAX_RESTORE_ATTEMPTS}, retrying`;
    return pending(
      message,
      next === "retry"
        ? { job: "deleteNow", status: { restoreAttempts: attempt, restoreRetriedJob: job.uid } }
        : {},
    );
  }
  // Unverified is recorded like any other failure: never retried by itself, and the data is left as it is.
  const failure = outcome.kind === "unverified" ? UNVERIFIED : job.failure;
  const gaveUp = connection ? ` (gave up after ${attempt} attempts)` : "";
  const message = `${failed?.reason ?? failure.reason}: ${failed?.message || failure.message}${gaveUp}`;
  return {
    progress: "failed",
    status: { restore: { result: "Failed", time: f.now, message } },
    condition: { status: "False", reason: REASONS.restoreFailed, message },
    event: {
      type: "Warning",
      reason: REASONS.restoreFailed,
      message: `restore Job ${jobName} failed: ${message}`,
    },
    job: "deleteAfterStatus",
  };
}

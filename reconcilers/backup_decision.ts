/**
 * The decisions about an instance's backup Jobs, pure: which finished Job's outcome to record in this pass (one
 * per pass), which Jobs to delete once the status write succeeded, whether a backup is still busy, and what a
 * finished Job amounts to. reconcilers/backups.ts observes and acts; backup_decision_test.ts is the table.
 *
 * @module
 */
import type { MySQLStatus } from "../api/mysql.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";
import type { BackupReason } from "../templates/mod.ts";
import type { BackedUpReport, JobReport } from "../templates/job_report.ts";
import type { JobState } from "./jobs.ts";

/** A backup Job of this incarnation, as observed. */
export interface BackupJobFacts {
  name: string;
  state: JobState;
  /** Its deletion has started. */
  deleting: boolean;
}

/** What to do with the Jobs in this pass. */
export interface BackupJobsPlan {
  /** A backup runs, or an outcome waits to be recorded in a later pass. */
  busy: boolean;
  /** The finished Job whose outcome this pass records. */
  record?: string;
  /** Jobs to delete once the status write succeeded (their outcome is, or will then be, recorded). */
  deleteAfterStatus: string[];
}

/**
 * Plans one pass over the backup Jobs. `recorded` is `status.lastBackupJob` as the object has it: a Job of that
 * name was recorded in an earlier pass whose deletion did not happen. One outcome per pass keeps `lastBackupJob`
 * exact; the next pass records the next one.
 */
export function planBackupJobs(jobs: BackupJobFacts[], recorded: string | undefined): BackupJobsPlan {
  const plan: BackupJobsPlan = { busy: false, deleteAfterStatus: [] };
  for (const job of jobs) {
    if (job.deleting) continue;
    if (job.state === "active") plan.busy = true;
    else if (job.name === recorded) plan.deleteAfterStatus.push(job.name);
    else if (plan.record !== undefined) plan.busy = true;
    else {
      plan.record = job.name;
      plan.deleteAfterStatus.push(job.name);
    }
  }
  return plan;
}

/** A finished backup Job whose outcome is to be recorded. */
export interface FinishedBackup {
  name: string;
  reason: BackupReason;
  state: "succeeded" | "failed";
  /** Its own verified report (reconcilers/jobs.ts `readJobReport`), if any. */
  report?: JobReport;
  /** Reason and message of its Failed condition (reconcilers/jobs.ts `jobFailure`). */
  failure: { reason: string; message: string };
}

/** What recording a finished backup changes and says. */
export interface BackupRecord {
  ok: boolean;
  status: Partial<MySQLStatus>;
  condition: { type: string; status: "True" | "False"; reason: string; message: string };
  event: { type: "Normal" | "Warning"; reason: string; message: string };
  /** The backup claim and volume are marked with the newest backup (only for a success). */
  mark?: { time: string; file: string };
}

/**
 * What a finished backup Job amounts to. Success needs the Job's own verified report, and for a final or migrate
 * backup also `readOnly: true` (writes were stopped before the dump); a Job that completed without that is a
 * failure with reason `Unverified` (for a final backup a failed attempt: the data is kept and the finalizer
 * retries). A migrate backup's success names the `migrate-backup` value it answers in `status.migrateBackup`.
 */
export function recordBackup(
  job: FinishedBackup,
  now: string,
  status: Pick<MySQLStatus, "finalBackupAttempts" | "migrateBackupHandled">,
): BackupRecord {
  const { name, reason, report } = job;
  const done = report?.result === "BackedUp" ? report : undefined;
  const failed = report?.result === "Failed" ? report : undefined;
  const readOnly = reason === "final" || reason === "migrate";
  if (job.state === "succeeded" && done && (!readOnly || done.readOnly)) {
    const how = readOnly ? ", taken read-only" : "";
    return {
      ok: true,
      status: {
        lastBackupJob: name,
        lastBackupTime: done.time,
        lastBackup: done.file,
        lastBackupBytes: done.bytes,
        ...(reason === "final" ? { finalBackupTime: done.time } : {}),
        ...(reason === "migrate" && status.migrateBackupHandled
          ? {
            migrateBackup: {
              token: status.migrateBackupHandled,
              backup: done.file,
              time: done.time,
              ...(done.tables === undefined ? {} : { tables: done.tables }),
            },
          }
          : {}),
      },
      condition: {
        type: CONDITIONS.backupReady,
        status: "True",
        reason: REASONS.backupSucceeded,
        message: `${reason} backup ${done.file} succeeded${how}`,
      },
      event: {
        type: "Normal",
        reason: REASONS.backupSucceeded,
        message: `${reason} backup ${done.file} succeeded${how} (Job ${name}, sha256 ${done.sha256})`,
      },
      mark: { time: done.time, file: done.file },
    };
  }
  const failure = job.state === "succeeded" && !failed ? unverified(done) : job.failure;
  const why = failed?.reason ?? failure.reason;
  const message = failed?.message || failure.message;
  return {
    ok: false,
    status: {
      lastBackupJob: name,
      lastBackupFailure: { time: now, reason: why, message },
      ...(reason === "final" ? { finalBackupAttempts: (status.finalBackupAttempts ?? 0) + 1 } : {}),
      // The failure answers the migrate-backup value, whatever backups are recorded after it.
      ...(reason === "migrate" && status.migrateBackupHandled
        ? {
          migrateBackup: { token: status.migrateBackupHandled, time: now, failure: { reason: why, message } },
        }
        : {}),
    },
    condition: {
      type: CONDITIONS.backupReady,
      status: "False",
      reason: REASONS.backupFailed,
      message: `${reason} backup failed: ${why}: ${message}`,
    },
    event: {
      type: "Warning",
      reason: REASONS.backupFailed,
      message: `${reason} backup Job ${name} failed: ${why}: ${message}`,
    },
  };
}

/** Why a Job that completed is still not a good backup. */
function unverified(done: BackedUpReport | undefined): { reason: string; message: string } {
  const message = done
    ? `the backup ${done.file} was not taken read-only: writes may have continued after the dump, so it is not the final state`
    : "the Job completed without a verified report (one naming this Job's UID, with the backup file and its sha256)";
  return { reason: REASONS.unverified, message };
}

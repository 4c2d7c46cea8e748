/**
 * When a live object takes a backup, and what its schedule means for `BackupReady`: pure decisions of the
 * requested (`backup-now`) and scheduled backups, tested by tables in backup_trigger_test.ts. Final backups are
 * the deletion's (reconcilers/finalize.ts).
 *
 * @module
 */
import type { MySQLStatus } from "../api/mysql.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";
import { nextSlot, parseCron, previousSlot } from "./cron.ts";

/** What decides whether a backup is due. */
export interface TriggerFacts {
  /** Value of the `backup-now` annotation. */
  requested?: string;
  /** `status.backupNowHandled`: the value last acted on. */
  handled?: string;
  /** Value of the `migrate-backup` annotation, and `status.migrateBackupHandled`. */
  migrateRequested?: string;
  migrateHandled?: string;
  /** `spec.backup.schedule`. */
  schedule?: string;
  /** The object's creation (a slot before it is not owed). */
  createdMs: number;
  /** `status.lastScheduledSlot` (0 when none). */
  lastSlotMs: number;
  nowMs: number;
}

/** A backup to start, and the status fact that records it was started (so it is started once). */
export type Due =
  | { reason: "manual"; token: string; status: Pick<MySQLStatus, "backupNowHandled"> }
  | { reason: "migrate"; token: string; status: Pick<MySQLStatus, "migrateBackupHandled"> }
  | { reason: "scheduled"; token: string; status: Pick<MySQLStatus, "lastScheduledSlot"> };

/** The decision: a backup to start now, and when to look again for the schedule's next slot. */
export interface Trigger {
  due?: Due;
  recheckMs?: number;
}

/** Look again this soon after starting a backup: its Job's outcome is what the next pass records. */
export const STARTED_RECHECK_MS = 30_000;

/**
 * Whether a backup is due: a new `migrate-backup` value first (the migration waits on it), a new `backup-now`
 * value next, then the newest schedule slot since the object's
 * creation and the last slot served (missed slots are not caught up one by one: one backup covers them).
 * An unreadable schedule starts nothing ({@linkcode scheduleCondition} says why).
 */
export function backupTrigger(f: TriggerFacts): Trigger {
  if (f.migrateRequested && f.migrateRequested !== f.migrateHandled) {
    const token = f.migrateRequested;
    return {
      due: { reason: "migrate", token, status: { migrateBackupHandled: token } },
      recheckMs: STARTED_RECHECK_MS,
    };
  }
  if (f.requested && f.requested !== f.handled) {
    return {
      due: { reason: "manual", token: f.requested, status: { backupNowHandled: f.requested } },
      recheckMs: STARTED_RECHECK_MS,
    };
  }
  if (!f.schedule) return {};
  let cron;
  try {
    cron = parseCron(f.schedule);
  } catch {
    return {};
  }
  const now = new Date(f.nowMs);
  const slot = previousSlot(cron, now);
  if (slot && slot.getTime() > f.createdMs && slot.getTime() > f.lastSlotMs) {
    const at = slot.toISOString();
    return {
      due: { reason: "scheduled", token: at, status: { lastScheduledSlot: at } },
      recheckMs: STARTED_RECHECK_MS,
    };
  }
  const next = nextSlot(cron, now);
  return next ? { recheckMs: Math.max(1000, next.getTime() - f.nowMs + 500) } : {};
}

/** A `BackupReady` condition to set, and a Warning to send with it. */
export interface BackupReadyVerdict {
  condition?: { type: string; status: "True" | "False" | "Unknown"; reason: string; message: string };
  warning?: string;
}

/**
 * `BackupReady` of a live object, after this pass recorded any finished backup. A schedule cron cannot read (the
 * CRD's pattern checks only its shape; an object may predate the pattern) takes no scheduled backup:
 * `False`/`InvalidSchedule` and a Warning on every pass, whether or not mysqld is up (requested and final backups
 * still run). Otherwise `Unknown`/`NoBackupYet` until a backup has an outcome; once a schedule is fixed, the
 * condition tells the last backup's outcome again; else the recorded outcome's condition stays as it is.
 */
export function backupReadyCondition(schedule: string | undefined, status: MySQLStatus): BackupReadyVerdict {
  const type = CONDITIONS.backupReady;
  try {
    if (schedule) parseCron(schedule);
  } catch (err) {
    const message = `no scheduled backups: ${(err as Error).message}`;
    return {
      condition: { type, status: "False", reason: REASONS.invalidSchedule, message },
      warning: message,
    };
  }
  const f = status.lastBackupFailure;
  if (!f && status.lastBackupTime === undefined) {
    const message = "no backup has been taken yet";
    return { condition: { type, status: "Unknown", reason: REASONS.noBackupYet, message } };
  }
  const current = status.conditions?.find((c) => c.type === type);
  if (current?.reason !== REASONS.invalidSchedule) return {};
  const failedAt = Date.parse(f?.time ?? "") || 0;
  const succeededAt = Date.parse(status.lastBackupTime ?? "") || 0;
  return {
    condition: f && failedAt > succeededAt
      ? {
        type,
        status: "False",
        reason: REASONS.backupFailed,
        message: `the last backup failed: ${f.reason}: ${f.message ?? ""}`,
      }
      : {
        type,
        status: "True",
        reason: REASONS.backupSucceeded,
        message: `backup ${status.lastBackup ?? ""} succeeded`,
      },
  };
}

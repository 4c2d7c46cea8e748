/**
 * The one-line JSON report that backup and restore Jobs write as their termination message (and echo to stdout),
 * and its parser. The scripts are templates/backup_script.ts and templates/restore_script.ts.
 *
 * @module
 */

/** A backup that completed: `file` is relative to the backup volume (`<subdir>/<name>.sql`). */
export interface BackedUpReport {
  result: "BackedUp";
  file: string;
  bytes: number;
  sha256: string;
  /** When the dump started (RFC 3339, UTC). */
  time: string;
}

/** A restore that loaded `backup` (relative to the backup volume). */
export interface RestoredReport {
  result: "Restored";
  backup: string;
  sha256: string;
  /** When the restore finished (RFC 3339, UTC). */
  time: string;
  /** When the restored backup was taken. */
  backupTime?: string;
  /** Says when newer backups failed verification and were skipped. */
  message?: string;
}

/** The restore found no complete backup of the instance (not an error). */
export interface NothingToRestoreReport {
  result: "NothingToRestore";
  message?: string;
}

/** A failed run; the Job exits non-zero. */
export interface FailedReport {
  result: "Failed";
  /** CamelCase, one of {@linkcode FAILURE_REASONS} (others may appear from newer scripts). */
  reason: string;
  /** Short human text without secrets. */
  message: string;
}

/** Any Job report. */
export type JobReport = BackedUpReport | RestoredReport | NothingToRestoreReport | FailedReport;

/** Failure reasons the scripts report. */
export const FAILURE_REASONS = [
  /** An environment variable of the Job contract is missing or malformed. */
  "InvalidEnvironment",
  /** The image lacks a client program or a basic tool. */
  "MissingTool",
  /** BACKUP_DIR is not mounted, or the instance's directory cannot be created or listed. */
  "BackupVolumeMissing",
  /** No temporary directory or option file could be made. */
  "TempDirFailed",
  /** The server refused the credentials. */
  "AccessDenied",
  /** The server could not be reached, or went away during the run. */
  "ConnectionFailed",
  /** The dump tool failed (killed, SQL error, ...). */
  "DumpFailed",
  /** The dump is empty or lacks its completion line. */
  "DumpIncomplete",
  /** Writing, renaming or checksumming on the backup volume failed. */
  "WriteFailed",
  /** The restore target database already has tables, routines or events; nothing was loaded. */
  "DatabaseNotEmpty",
  /** Backups exist, but none matches its manifest (size, completion line, sha256). */
  "NoValidBackup",
  /** Loading the dump failed (the partial load is removed when possible). */
  "RestoreFailed",
  /** The Job was stopped by a signal (deadline, deletion). */
  "Interrupted",
] as const;

/** One of the known failure reasons. */
export type FailureReason = typeof FAILURE_REASONS[number];

const SHA256 = /^[0-9a-f]{64}$/;
const REASON = /^[A-Z][A-Za-z0-9]{0,63}$/;

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function fromObject(o: Record<string, unknown>): JobReport | undefined {
  switch (o.result) {
    case "BackedUp": {
      const file = str(o.file), sha256 = str(o.sha256), time = str(o.time);
      const bytes = o.bytes;
      if (!file || !time || !sha256 || !SHA256.test(sha256)) return undefined;
      if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
      return { result: "BackedUp", file, bytes, sha256, time };
    }
    case "Restored": {
      const backup = str(o.backup), sha256 = str(o.sha256), time = str(o.time);
      if (!backup || !time || !sha256 || !SHA256.test(sha256)) return undefined;
      const report: RestoredReport = { result: "Restored", backup, sha256, time };
      const backupTime = str(o.backupTime), message = str(o.message);
      if (backupTime) report.backupTime = backupTime;
      if (message) report.message = message;
      return report;
    }
    case "NothingToRestore": {
      const message = str(o.message);
      return message ? { result: "NothingToRestore", message } : { result: "NothingToRestore" };
    }
    case "Failed": {
      const reason = str(o.reason);
      if (!reason || !REASON.test(reason)) return undefined;
      return { result: "Failed", reason, message: typeof o.message === "string" ? o.message : "" };
    }
    default:
      return undefined;
  }
}

/**
 * Parses a Job's report: the last line of `text` that is a valid report (a termination message holds just that
 * line; a log may have other lines before it). Returns undefined for anything else; never throws.
 */
export function parseJobReport(text: string | undefined): JobReport | undefined {
  if (typeof text !== "string" || text.length === 0) return undefined;
  const lines = text.slice(-65536).split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith("{") || !line.endsWith("}")) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) continue;
    const report = fromObject(parsed as Record<string, unknown>);
    if (report) return report;
  }
  return undefined;
}

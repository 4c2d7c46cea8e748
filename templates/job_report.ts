/**
 * The one-line JSON report that backup and restore Jobs write as their termination message (and echo to stdout),
 * and its parser. The scripts are templates/backup_script.ts and templates/restore_script.ts.
 *
 * Every report names the Job that wrote it (`jobUid`, from the Job's env `JOB_UID`), so the operator never takes a
 * report of another Job (an earlier one of the same name, a leftover pod) for this Job's outcome.
 *
 * @module
 */

/** A backup that completed: `file` is relative to the backup volume (`<subdir>/<name>.sql`). */
export interface BackedUpReport {
  result: "BackedUp";
  /** UID of the Job that took it (env `JOB_UID`); the operator trusts the report only for that Job. */
  jobUid: string;
  /** True only when writes were stopped, and that was verified, before the dump (final and migrate backups). */
  readOnly: boolean;
  file: string;
  bytes: number;
  sha256: string;
  /** When the dump started (RFC 3339, UTC). */
  time: string;
  /** How many tables' sums the manifest holds (backups taken read-only). */
  tables?: number;
}

/** A restore that loaded `backup` (relative to the backup volume). */
export interface RestoredReport {
  result: "Restored";
  /** UID of the Job that wrote the report, when the Job passed one. */
  jobUid?: string;
  backup: string;
  sha256: string;
  /** When the restore finished (RFC 3339, UTC). */
  time: string;
  /** When the restored backup was taken. */
  backupTime?: string;
  /** Says when newer backups failed verification and were skipped. */
  message?: string;
  /** Tables whose row count and checksum matched the backup's manifest (a backup taken read-only has them). */
  verifiedTables?: number;
}

/** The restore found no complete backup of the instance (not an error). */
export interface NothingToRestoreReport {
  result: "NothingToRestore";
  /** UID of the Job that wrote the report, when the Job passed one. */
  jobUid?: string;
  message?: string;
}

/** A failed run; the Job exits non-zero. */
export interface FailedReport {
  result: "Failed";
  /** UID of the Job that wrote the report, when the Job passed one. */
  jobUid?: string;
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
  /** A final backup could not stop writes (or could not prove it did); nothing was dumped. */
  "ReadOnlyFailed",
  /** The object store refused or broke off an upload (credentials, bucket, network). */
  "UploadFailed",
  /** The dump read back from the object store is not the one uploaded (sha256); no manifest was written. */
  "UploadMismatch",
  /**
   * The object store could not be listed or read: a restore loaded nothing (or removed its partial load); a
   * backup could not read back what it uploaded and wrote no manifest.
   */
  "DownloadFailed",
  /** The loaded tables' row counts or checksums differ from the backup's (the load was undone). */
  "ChecksumMismatch",
] as const;

/** One of the known failure reasons. */
export type FailureReason = typeof FAILURE_REASONS[number];

const SHA256 = /^[0-9a-f]{64}$/;
const REASON = /^[A-Z][A-Za-z0-9]{0,63}$/;
/** A Kubernetes UID as the scripts accept it in `JOB_UID`. */
const UID = /^[A-Za-z0-9-]{1,64}$/;

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** `{ jobUid }` when the report carries a well-formed one; a malformed one makes the whole report invalid. */
function uidOf(o: Record<string, unknown>): { jobUid?: string } | undefined {
  if (o.jobUid === undefined) return {};
  return typeof o.jobUid === "string" && UID.test(o.jobUid) ? { jobUid: o.jobUid } : undefined;
}

function fromObject(o: Record<string, unknown>): JobReport | undefined {
  const uid = uidOf(o);
  if (!uid) return undefined;
  switch (o.result) {
    case "BackedUp": {
      // Strict: only a report naming its Job, with the file and its checksum, is a backup.
      const file = str(o.file), sha256 = str(o.sha256), time = str(o.time);
      const bytes = o.bytes, readOnly = o.readOnly;
      if (!uid.jobUid || !file || !time || !sha256 || !SHA256.test(sha256)) return undefined;
      if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
      if (typeof readOnly !== "boolean") return undefined;
      const tables = o.tables;
      const summed = typeof tables === "number" && Number.isSafeInteger(tables) && tables >= 0
        ? { tables }
        : {};
      return { result: "BackedUp", jobUid: uid.jobUid, readOnly, file, bytes, sha256, time, ...summed };
    }
    case "Restored": {
      const backup = str(o.backup), sha256 = str(o.sha256), time = str(o.time);
      if (!backup || !time || !sha256 || !SHA256.test(sha256)) return undefined;
      const report: RestoredReport = { result: "Restored", ...uid, backup, sha256, time };
      const backupTime = str(o.backupTime), message = str(o.message);
      if (backupTime) report.backupTime = backupTime;
      const v = o.verifiedTables;
      if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) report.verifiedTables = v;
      if (message) report.message = message;
      return report;
    }
    case "NothingToRestore": {
      const message = str(o.message);
      return { result: "NothingToRestore", ...uid, ...(message ? { message } : {}) };
    }
    case "Failed": {
      const reason = str(o.reason);
      if (!reason || !REASON.test(reason)) return undefined;
      return { result: "Failed", ...uid, reason, message: typeof o.message === "string" ? o.message : "" };
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

/**
 * The words of a MySQL object's status that users and tools read: phases, condition types, and the reasons of
 * conditions and events. They are part of the API (README "The resource" lists them; scripts match on them), so
 * the operator writes them only through these constants and a rename is one visible change here.
 *
 * @module
 */

/** Values of `status.phase`, a coarse summary for humans; the conditions carry the detail. */
export const PHASES = {
  /** Children are being made, or mysqld is not serving yet. */
  provisioning: "Provisioning",
  /** mysqld serves and the one restore at first creation is running or waiting to run. */
  restoring: "Restoring",
  /** mysqld serves; the restore, if any, has finished. */
  ready: "Ready",
  /** mysqld serves, but the restore failed (not retried by itself; `status.restore` says why). */
  restoreFailed: "RestoreFailed",
  /** The object is being deleted (final backup, then the data). */
  deleting: "Deleting",
  /** Reconciliation is paused by the `otus.homework/reconcile` annotation: nothing is changed. */
  paused: "Paused",
  /** The spec is invalid, a name is taken, the password Secret is missing, or the API server refused a write. */
  failed: "Failed",
} as const;

/** One of {@linkcode PHASES}. */
export type Phase = typeof PHASES[keyof typeof PHASES];

/** Condition types the operator maintains. */
export const CONDITIONS = {
  /** mysqld is serving and, on first creation, the restore has finished. */
  ready: "Ready",
  /** The one restore at first creation has a result. */
  restored: "Restored",
  /** The last backup succeeded. */
  backupReady: "BackupReady",
  /** The password lives only in a Secret (False while spec.password is used). */
  credentialsSecured: "CredentialsSecured",
  /** The spec's storage size matches the volume. */
  storageResized: "StorageResized",
  /** True while the object is on its way to what it asks (kstatus: InProgress); the reason is Ready's. */
  reconciling: "Reconciling",
  /** True when it cannot progress until someone changes something (kstatus: Failed); the reason is Ready's. */
  stalled: "Stalled",
} as const;

/** Reasons of conditions and events (events reuse a condition's reason when they report the same thing). */
export const REASONS = {
  /** Ready=True: mysqld is serving. */
  available: "Available",
  /** Event: the instance became Ready. */
  ready: "Ready",
  /** Reconciling=False and Stalled=False while the `otus.homework/reconcile` annotation pauses the instance. */
  paused: "Paused",
  mysqlNotReady: "MySQLNotReady",
  invalidSpec: "InvalidSpec",
  passwordSecretNotFound: "PasswordSecretNotFound",
  /** A child's name is taken by an object that is not this MySQL's (nothing is written then). */
  nameConflict: "NameConflict",
  /** Events: the children created or updated in one pass. */
  created: "Created",
  updated: "Updated",
  // Errors of a pass (describeError in reconcilers/reconcile_mysql.ts).
  forbidden: "Forbidden",
  apiUnreachable: "APIUnreachable",
  apiError: "APIError",
  reconcileError: "ReconcileError",
  // The restore (condition Restored and Ready while it runs; restored/nothingToRestore/keptData are also
  // values of status.restore.result).
  restorePending: "RestorePending",
  restoreStarted: "RestoreStarted",
  restoring: "Restoring",
  restored: "Restored",
  nothingToRestore: "NothingToRestore",
  keptData: "KeptData",
  restoreFailed: "RestoreFailed",
  // Backups (condition BackupReady).
  noBackupYet: "NoBackupYet",
  backupStarted: "BackupStarted",
  backupSucceeded: "BackupSucceeded",
  backupFailed: "BackupFailed",
  invalidSchedule: "InvalidSchedule",
  /**
   * BackupReady=False (and the restore waits): the Secret named by spec.backup.objectStore.credentialsSecretRef is
   * missing or lacks a key, so no Job could start (its pod would wait for the Secret until the Job's deadline).
   */
  storeCredentialsMissing: "StoreCredentialsMissing",
  // Deletion (condition Ready while the object is being deleted).
  finalBackupRunning: "FinalBackupRunning",
  finalBackupWaiting: "FinalBackupWaiting",
  finalBackupFailed: "FinalBackupFailed",
  finalBackupBlocked: "FinalBackupBlocked",
  finalBackupSkipped: "FinalBackupSkipped",
  // Condition CredentialsSecured.
  plaintextPassword: "PlaintextPassword",
  secretReference: "SecretReference",
  /** StorageResized=False: an existing volume is never resized. */
  resizeNotSupported: "ResizeNotSupported",
  // Failures of a Job the operator names itself (status.lastBackupFailure.reason, status.restore.message),
  // beside the reasons a Job's own report gives (FAILURE_REASONS in templates/job_report.ts).
  /** The Job completed without a verified report, or a final backup was not taken read-only. */
  unverified: "Unverified",
  /** The Job failed without a report (its own condition's reason is used when it has one). */
  jobFailed: "JobFailed",
} as const;

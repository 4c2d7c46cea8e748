/**
 * Pure renderers of every child of a MySQL object: each returns plain data (what server-side apply sends) and
 * does no I/O. Names and labels come from templates/names.ts.
 *
 * @module
 */
export { DEFAULT_RENDER_OPTIONS, type RenderOptions } from "./options.ts";
export { base64Utf8, passwordSecretKeyRef, renderSecret, SECRET_PASSWORD_KEY } from "./secret.ts";
export {
  BACKUP_MOUNT_PATH,
  backupStorageClass,
  backupStorageSize,
  dataStorageClass,
  hostPathOf,
  renderBackupPV,
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
} from "./volumes.ts";
export {
  DATA_MOUNT_PATH,
  DATA_SUB_PATH,
  MYSQL_CONTAINER,
  MYSQL_PORT,
  PING_COMMAND,
  renderDeployment,
} from "./deployment.ts";
export { renderService } from "./service.ts";
export {
  type BackupJobInput,
  type BackupReason,
  backupSubdir,
  JOB_ACTIVE_DEADLINE_SECONDS,
  JOB_TTL_SECONDS_AFTER_FINISHED,
  jobImage,
  renderBackupJob,
  renderRestoreJob,
  type RestoreJobInput,
  TERMINATION_MESSAGE_PATH,
} from "./jobs.ts";
export { BACKUP_REASON_LABEL, NAME_LABEL, NAMESPACE_LABEL, pvLabels } from "./labels.ts";
export { childMeta, objectRef, ownerReference } from "./owner.ts";
export type * from "./k8s_types.ts";

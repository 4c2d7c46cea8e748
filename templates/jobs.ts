/**
 * Backup and restore Jobs.
 *
 * Each Job runs a constant POSIX sh script (`command: ["/bin/sh", "-c", SCRIPT]`); every value reaches it through
 * the environment, never spliced into the text. The password comes only from a Secret key reference. The Job
 * writes one JSON report line to its termination message (see templates/job_report.ts).
 *
 * @module
 */
import { DEFAULT_BACKUP_RETENTION, type MySQL } from "../api/mysql.ts";
import { childNames, instanceId, type ObjectRef } from "./names.ts";
import { BACKUP_REASON_LABEL, childLabels } from "./labels.ts";
import { childMeta, objectRef } from "./owner.ts";
import { passwordSecretKeyRef } from "./secret.ts";
import { BACKUP_MOUNT_PATH } from "./volumes.ts";
import { MYSQL_PORT } from "./deployment.ts";
import { podSpecDefaults } from "./pod.ts";
import { BACKUP_SCRIPT, STORE_BACKUP_SCRIPT } from "./backup_script.ts";
import { RESTORE_SCRIPT, STORE_RESTORE_SCRIPT } from "./restore_script.ts";
import { objectStoreOf, restoreFromEnv, storeEnv } from "./store_env.ts";
import type { RenderOptions } from "./options.ts";
import type { Container, EnvVar, Job } from "./k8s_types.ts";

/** Why a backup runs. */
/** Why a backup runs: `final` and `migrate` stop writes for good first (freeze.sh) and record table sums. */
export type BackupReason = "final" | "scheduled" | "manual" | "migrate";

/** Per-request inputs of a backup Job. */
export interface BackupJobInput {
  /** From `backupJobName` (templates/names.ts). */
  jobName: string;
  reason: BackupReason;
  /** ClusterIP of the instance's Service. */
  host: string;
  /** With `spec.backup.objectStore`: the cluster's name (the store's folder of its instances). */
  store?: { cluster: string };
}

/** Per-request inputs of the restore Job. */
export interface RestoreJobInput {
  /** ClusterIP of the instance's Service. */
  host: string;
  /** With `spec.backup.objectStore`: the cluster whose folder of the store holds the instance's backups. */
  store?: { cluster: string };
}

/** Where the container writes its one-line JSON report. */
export const TERMINATION_MESSAGE_PATH = "/dev/termination-log";
/** Hard limit of one Job run; a hung dump or load fails instead of blocking the operator. */
export const JOB_ACTIVE_DEADLINE_SECONDS = 3600;
/** Safety net only: the operator deletes a Job once it has recorded the outcome. */
export const JOB_TTL_SECONDS_AFTER_FINISHED = 86400;

/** Directory of one instance's backups under `BACKUP_DIR` (`<namespace>_<name>`; neither may contain `_`). */
export function backupSubdir(ref: ObjectRef): string {
  return `${ref.namespace}_${ref.name}`;
}

/** Image of backup and restore Jobs: `spec.backup.image`, else the mysqld image (which has the client tools). */
export function jobImage(mysql: MySQL): string {
  return mysql.spec.backup?.image ?? mysql.spec.image;
}

/**
 * A backup Job: dumps the database to the shared backup volume and prunes to the retention; with
 * `spec.backup.objectStore`, streams it to the store instead (and prunes there).
 */
export function renderBackupJob(mysql: MySQL, input: BackupJobInput, opts: RenderOptions): Job {
  const labels = { ...childLabels(objectRef(mysql), "backup"), [BACKUP_REASON_LABEL]: input.reason };
  const store = objectStoreOf(mysql);
  const env = [...jobEnv(mysql, input.host, !store), { name: "BACKUP_REASON", value: input.reason }];
  if (!store) return job(mysql, input.jobName, labels, "backup", BACKUP_SCRIPT, env, opts);
  if (!input.store) throw new Error("a backup to an object store needs the cluster");
  env.push(...storeEnv(store, input.store.cluster, mysql));
  return job(mysql, input.jobName, labels, "backup", STORE_BACKUP_SCRIPT, env, opts, false);
}

/** The restore Job of an incarnation: loads the newest good backup of the instance (volume or store), if any. */
export function renderRestoreJob(mysql: MySQL, input: RestoreJobInput, opts: RenderOptions): Job {
  const ref = objectRef(mysql);
  const labels = childLabels(ref, "restore");
  const name = childNames(ref).restoreJob;
  const store = objectStoreOf(mysql);
  const env = jobEnv(mysql, input.host, !store);
  if (!store) return job(mysql, name, labels, "restore", RESTORE_SCRIPT, env, opts);
  if (!input.store) throw new Error("a restore from an object store needs the cluster");
  env.push(
    ...storeEnv(store, input.store.cluster, mysql),
    ...restoreFromEnv(store, input.store.cluster, mysql),
  );
  return job(mysql, name, labels, "restore", STORE_RESTORE_SCRIPT, env, opts, false);
}

/** Pod label the Job controller sets to the Job's UID. */
export const JOB_UID_LABEL = "batch.kubernetes.io/controller-uid";

/**
 * `JOB_UID`: the Job's own UID, from its pod's label (downward API). The scripts put it in their report, and the
 * operator trusts a report only when it names the Job it reads it for.
 */
const JOB_UID_ENV: EnvVar = {
  name: "JOB_UID",
  valueFrom: { fieldRef: { fieldPath: `metadata.labels['${JOB_UID_LABEL}']` } },
};

/**
 * The environment contract shared by backup and restore Jobs (templates/scripts/common.sh `check_env_common`),
 * with the backup volume's part (`check_env`) unless the Job uses the object store.
 */
function jobEnv(mysql: MySQL, host: string, backupVolume = true): EnvVar[] {
  const ref = objectRef(mysql);
  const env: EnvVar[] = [
    JOB_UID_ENV,
    { name: "MYSQL_HOST", value: host },
    { name: "MYSQL_PORT", value: String(MYSQL_PORT) },
    { name: "MYSQL_USER", value: "root" },
    { name: "MYSQL_PASSWORD", valueFrom: { secretKeyRef: passwordSecretKeyRef(mysql) } },
    { name: "MYSQL_DATABASE", value: mysql.spec.database },
    { name: "INSTANCE_ID", value: instanceId(ref) },
    { name: "INSTANCE_UID", value: mysql.metadata.uid },
    { name: "BACKUP_RETENTION", value: String(mysql.spec.backup?.retention ?? DEFAULT_BACKUP_RETENTION) },
  ];
  if (!backupVolume) return env;
  return [
    ...env,
    { name: "BACKUP_DIR", value: BACKUP_MOUNT_PATH },
    { name: "BACKUP_SUBDIR", value: backupSubdir(ref) },
  ];
}

function job(
  mysql: MySQL,
  name: string,
  labels: Record<string, string>,
  containerName: string,
  script: string,
  env: EnvVar[],
  opts: RenderOptions,
  backupVolume = true,
): Job {
  const container: Container = {
    name: containerName,
    image: jobImage(mysql),
    command: ["/bin/sh", "-c", script],
    env,
    volumeMounts: backupVolume ? [{ name: "backup", mountPath: BACKUP_MOUNT_PATH }] : [],
    terminationMessagePath: TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: "File",
  };
  if (opts.imagePullPolicy !== undefined) container.imagePullPolicy = opts.imagePullPolicy;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: childMeta(mysql, name, labels),
    spec: {
      // The operator decides about retries (with backoff); a Job is one attempt.
      backoffLimit: 0,
      activeDeadlineSeconds: JOB_ACTIVE_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS_AFTER_FINISHED,
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          ...podSpecDefaults(opts),
          restartPolicy: "Never",
          containers: [container],
          // A Job of the object store does not mount the backup volume: nothing of it is needed, and the claim
          // may be in use by another node's pod.
          volumes: backupVolume
            ? [{
              name: "backup",
              persistentVolumeClaim: { claimName: childNames(objectRef(mysql)).backupPVC },
            }]
            : [],
        },
      },
    },
  };
}

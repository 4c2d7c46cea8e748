/**
 * The object store's part of a Job's environment (`spec.backup.objectStore`): where the instance's backups are
 * (`STORE_PATH`, `INSTANCE_CLUSTER`) and rclone's remote `store`, configured entirely by `RCLONE_CONFIG_STORE_*`
 * variables. The keys come from the credentials Secret through secretKeyRef: never in the Job's text, arguments
 * or annotations. The contract is templates/scripts/store.sh `check_store_env`.
 *
 * @module
 */
import type { MySQL, ObjectStoreSpec } from "../api/mysql.ts";
import { instanceId, storeClusterName, storeInstancePath } from "./names.ts";
import { objectRef } from "./owner.ts";
import type { EnvVar } from "./k8s_types.ts";

/** Secret keys of the store's access key ID and secret access key when the reference names none. */
export const DEFAULT_STORE_KEYS = {
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
} as const;
/** Region used for request signing when the spec names none (what most S3-compatible servers accept). */
export const DEFAULT_STORE_REGION = "us-east-1";

/** `RCLONE_CONFIG` of the Jobs: a path no image has. */
export const RCLONE_NO_CONFIG = "/nonexistent/mysql-operator/rclone.conf";

/** The object store target of `mysql`, if it backs up to one. */
export function objectStoreOf(mysql: MySQL): ObjectStoreSpec | undefined {
  return mysql.spec.backup?.objectStore;
}

/** `<bucket>/<prefix>/<cluster>/<namespace>/<name>`: the instance's folder as the Jobs' scripts address it. */
export function storePath(store: ObjectStoreSpec, cluster: string, mysql: MySQL): string {
  return `${store.bucket}/${storeInstancePath(store.prefix ?? "", cluster, objectRef(mysql))}`;
}

/** The Secret key references of the store's keys. */
export function storeKeyRefs(store: ObjectStoreSpec): { accessKeyId: EnvVar; secretAccessKey: EnvVar } {
  const ref = store.credentialsSecretRef;
  const key = (name: string, key: string): EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key } },
  });
  return {
    accessKeyId: key(
      "RCLONE_CONFIG_STORE_ACCESS_KEY_ID",
      ref.accessKeyIdKey ?? DEFAULT_STORE_KEYS.accessKeyId,
    ),
    secretAccessKey: key(
      "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY",
      ref.secretAccessKeyKey ?? DEFAULT_STORE_KEYS.secretAccessKey,
    ),
  };
}

/** Environment of a Job that reads or writes the instance's backups in `store`, for the instance in `cluster`. */
export function storeEnv(store: ObjectStoreSpec, cluster: string, mysql: MySQL): EnvVar[] {
  const keys = storeKeyRefs(store);
  const env: EnvVar[] = [
    { name: "STORE_PATH", value: storePath(store, cluster, mysql) },
    { name: "INSTANCE_CLUSTER", value: storeClusterName(cluster) },
    // A config file that does not exist: the variables are the whole configuration, and an image's rclone.conf
    // cannot add to the remote. (rclone refuses a path it cannot open for another reason, /dev/null/x say.)
    { name: "RCLONE_CONFIG", value: RCLONE_NO_CONFIG },
    { name: "RCLONE_CONFIG_STORE_TYPE", value: "s3" },
    { name: "RCLONE_CONFIG_STORE_PROVIDER", value: "Other" },
    // Only the Secret's keys: never the node's or pod's ambient credentials.
    { name: "RCLONE_CONFIG_STORE_ENV_AUTH", value: "false" },
    { name: "RCLONE_CONFIG_STORE_ENDPOINT", value: store.endpoint },
    { name: "RCLONE_CONFIG_STORE_REGION", value: store.region ?? DEFAULT_STORE_REGION },
    // Path-style addressing works with every S3-compatible server (virtual hosts need DNS per bucket).
    { name: "RCLONE_CONFIG_STORE_FORCE_PATH_STYLE", value: "true" },
    // The bucket must exist: a Job never creates one (it would need more rights than reading and writing).
    { name: "RCLONE_CONFIG_STORE_NO_CHECK_BUCKET", value: "true" },
    keys.accessKeyId,
    keys.secretAccessKey,
  ];
  if (store.insecureSkipTLSVerify) env.push({ name: "RCLONE_NO_CHECK_CERTIFICATE", value: "true" });
  return env;
}

/**
 * The restore Job's part for `spec.restoreFrom`: the source's folder (its cluster, default this one) and identity,
 * and the one backup asked for, if any. The script uses them only while the instance has no backup of its own.
 */
export function restoreFromEnv(store: ObjectStoreSpec, cluster: string, mysql: MySQL): EnvVar[] {
  const from = mysql.spec.restoreFrom;
  if (!from) return [];
  const source = { namespace: from.namespace, name: from.name };
  const env: EnvVar[] = [
    {
      name: "RESTORE_FROM_PATH",
      value: `${store.bucket}/${storeInstancePath(store.prefix ?? "", from.cluster ?? cluster, source)}`,
    },
    { name: "RESTORE_FROM_ID", value: instanceId(source) },
  ];
  if (from.backup) env.push({ name: "RESTORE_FROM_BACKUP", value: from.backup });
  return env;
}

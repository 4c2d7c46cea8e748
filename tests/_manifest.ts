/**
 * Manifests as the backup scripts write them (format 1, templates/scripts/backup.sh and store_backup.sh), for
 * tests that put backups into a store without running a Job; and the objects that point an instance at a test's
 * object store.
 *
 * @module
 */

/** The text of a manifest for dump `<stem>.sql` of `instance`. */
export function manifestText(m: {
  instance: string;
  stem: string;
  seq: number;
  bytes: number;
  time: string;
  sha256: string;
}): string {
  return [
    "format=1",
    `instance_id=${m.instance}`,
    "instance_uid=u-1",
    "database=otus",
    `file=${m.stem}.sql`,
    `time=${m.time}`,
    `seq=${m.seq}`,
    `bytes=${m.bytes}`,
    `sha256=${m.sha256}`,
    "reason=scheduled",
  ].join("\n") + "\n";
}

/** The Secret `s3-keys` in `namespace` holding a store's keys under the default key names. */
export function storeKeysSecret(namespace: string, store: { accessKeyId: string; secretAccessKey: string }) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s3-keys", namespace },
    stringData: { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey },
  };
}

/** `spec.backup.objectStore` for bucket `backups` of a test's store under `prefix`, keys from `s3-keys`. */
export function objectStoreSpec(store: { endpoint: string; region: string }, prefix: string) {
  return {
    endpoint: store.endpoint,
    bucket: "backups",
    prefix,
    region: store.region,
    credentialsSecretRef: { name: "s3-keys" },
  };
}

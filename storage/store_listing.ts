/**
 * Every instance's backups under one prefix of a bucket, newest first: what `mysql-operator backups` shows
 * for an object store. One listing of the prefix, one read per manifest; each instance's folder is judged by
 * storage/catalog.ts, so what is listed here is exactly what a restore could pick.
 *
 * @module
 */
import { catalog, type StoredObject } from "./catalog.ts";
import type { S3Bucket } from "./s3.ts";
import { readManifests } from "./store_backups.ts";

/** One complete backup of one instance. */
export interface StoreBackupRow {
  cluster: string;
  namespace: string;
  name: string;
  instanceUid: string;
  /** When the backup started (the manifest's `time`). */
  time: string;
  seq: number;
  bytes: number;
  sha256: string;
  reason: string;
  /** Key of the dump. */
  key: string;
}

/**
 * The rows of every instance folder `<prefix><cluster>/<namespace>/<name>/` in a listing (pure): complete backups
 * only, newest first by time, then cluster, namespace, name and sequence. Objects at other depths are ignored.
 */
export function backupRows(
  prefix: string,
  objects: StoredObject[],
  manifests: ReadonlyMap<string, string>,
): StoreBackupRow[] {
  const folders = new Map<string, StoredObject[]>();
  for (const o of objects) {
    if (!o.key.startsWith(prefix)) continue;
    const parts = o.key.slice(prefix.length).split("/");
    if (parts.length !== 4 || parts.some((p) => p === "")) continue;
    const folder = parts.slice(0, 3).join("/");
    folders.set(folder, [...(folders.get(folder) ?? []), o]);
  }
  const rows: StoreBackupRow[] = [];
  for (const [folder, inFolder] of folders) {
    const [cluster, namespace, name] = folder.split("/");
    for (const b of catalog(inFolder, manifests).backups) {
      // A manifest of another instance in this folder (copied by hand) is not this instance's: a restore skips it.
      if (b.manifest.instanceId !== `${namespace}/${name}`) continue;
      rows.push({
        cluster,
        namespace,
        name,
        instanceUid: b.manifest.instanceUid,
        time: b.manifest.time,
        seq: b.manifest.seq,
        bytes: b.manifest.bytes,
        sha256: b.manifest.sha256,
        reason: b.manifest.reason,
        key: b.dumpKey,
      });
    }
  }
  const key = (r: StoreBackupRow) => [r.cluster, r.namespace, r.name].join("/");
  return rows.sort((a, b) =>
    a.time !== b.time
      ? (a.time < b.time ? 1 : -1)
      : key(a) !== key(b)
      ? (key(a) < key(b) ? -1 : 1)
      : b.seq - a.seq
  );
}

/** The rows of a bucket's prefix (`prefix` ends with `/`, or is empty for the whole bucket). */
export async function listStoreBackups(bucket: S3Bucket, prefix: string): Promise<StoreBackupRow[]> {
  const objects = await bucket.list(prefix);
  return backupRows(prefix, objects, await readManifests(bucket, objects));
}

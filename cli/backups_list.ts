/**
 * What `mysql-operator backups` shows, decided from what it read (pure): the object stores named by the MySQL
 * objects it saw (each listed once, with the keys of the first object whose Secret could be read), and one row per
 * backup, newest first — every complete backup in those stores (instances of other clusters, and deleted ones,
 * included: that is what outlives a cluster), and for an instance on the backup volume the newest backup its status
 * records (the volume itself is not readable from here).
 *
 * @module
 */
import type { MySQL, ObjectStoreSpec } from "../api/mysql.ts";
import { DEFAULT_STORE_KEYS, DEFAULT_STORE_REGION } from "../templates/store_env.ts";
import type { StoreBackupRow } from "../storage/store_listing.ts";

/** One backup as listed. */
export interface BackupRow {
  /** `namespace/name`. */
  instance: string;
  /** The cluster (context) the backup was taken in. */
  cluster: string;
  /** `volume`, or the store as `endpoint/bucket/prefix`. */
  target: string;
  /** When the backup started. */
  time: string;
  /** Size in bytes; undefined when only the status's record is known. */
  bytes?: number;
  /**
   * `manifest`: complete in the store (a manifest naming a dump of its size; its sha256 was checked when taken);
   * `recorded`: the operator recorded it after checking the Job's report (the volume's newest).
   */
  verified: "manifest" | "recorded";
  /** The dump: its key in the store, or the volume's file. */
  file: string;
  seq?: number;
  reason?: string;
}

/** An object store to list, and where its keys are. */
export interface StoreToList {
  /** `endpoint/bucket/prefix` (what the rows' `target` says). */
  id: string;
  endpoint: string;
  bucket: string;
  /** Key prefix ending with `/`, or empty. */
  prefix: string;
  region: string;
  /** Secrets that hold its keys, in the order seen: the first readable one is used. */
  secrets: Array<{ cluster: string; namespace: string; name: string; idKey: string; secretKey: string }>;
}

/** The store's identity in rows. */
export function storeId(s: ObjectStoreSpec): string {
  return [s.endpoint.replace(/\/+$/, ""), s.bucket, s.prefix ?? ""].filter((p) => p !== "").join("/");
}

/** The stores the objects name, each once. */
export function storesOf(objects: Array<{ cluster: string; mysql: MySQL }>): StoreToList[] {
  const stores = new Map<string, StoreToList>();
  for (const { cluster, mysql } of objects) {
    const s = mysql.spec?.backup?.objectStore;
    if (!s) continue;
    const id = storeId(s);
    const entry = stores.get(id) ?? {
      id,
      endpoint: s.endpoint,
      bucket: s.bucket,
      prefix: s.prefix ? `${s.prefix.replace(/^\/+|\/+$/g, "")}/` : "",
      region: s.region ?? DEFAULT_STORE_REGION,
      secrets: [],
    };
    entry.secrets.push({
      cluster,
      namespace: mysql.metadata.namespace,
      name: s.credentialsSecretRef.name,
      idKey: s.credentialsSecretRef.accessKeyIdKey ?? DEFAULT_STORE_KEYS.accessKeyId,
      secretKey: s.credentialsSecretRef.secretAccessKeyKey ?? DEFAULT_STORE_KEYS.secretAccessKey,
    });
    stores.set(id, entry);
  }
  return [...stores.values()];
}

/** The rows of one store's listing. */
export function storeRows(store: Pick<StoreToList, "id">, listed: StoreBackupRow[]): BackupRow[] {
  return listed.map((r) => ({
    instance: `${r.namespace}/${r.name}`,
    cluster: r.cluster,
    target: store.id,
    time: r.time,
    bytes: r.bytes,
    verified: "manifest",
    file: r.key,
    seq: r.seq,
    reason: r.reason,
  }));
}

/** The row of an instance on the backup volume: its newest recorded backup, if any. */
export function volumeRow(cluster: string, mysql: MySQL): BackupRow | undefined {
  if (mysql.spec?.backup?.objectStore) return undefined;
  const { lastBackup, lastBackupTime } = mysql.status ?? {};
  if (!lastBackup || !lastBackupTime) return undefined;
  return {
    instance: `${mysql.metadata.namespace}/${mysql.metadata.name}`,
    cluster,
    target: "volume",
    time: lastBackupTime,
    verified: "recorded",
    file: lastBackup,
  };
}

/** Newest first; then by cluster, instance and target, so equal times keep one order. */
export function sortRows(rows: BackupRow[]): BackupRow[] {
  const key = (r: BackupRow) => `${r.cluster}\u0000${r.instance}\u0000${r.target}\u0000${r.file}`;
  return [...rows].sort((a, b) =>
    a.time !== b.time ? (a.time < b.time ? 1 : -1) : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
  );
}

/** A size for people: bytes, KiB, MiB, GiB. */
export function humanBytes(n: number | undefined): string {
  if (n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

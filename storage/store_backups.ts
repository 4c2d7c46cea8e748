/**
 * One instance's backups in a bucket (I/O over storage/catalog.ts): read the catalog, publish a backup (dump
 * first, manifest last), apply retention and remove half-written uploads.
 *
 * @module
 */
import { type Catalog, catalog, removals, type StoredObject } from "./catalog.ts";
import type { S3Bucket } from "./s3.ts";

/**
 * How long an object without its manifest may be an upload still running. A dump is uploaded before its manifest,
 * so a dump younger than this is left alone; older, it was abandoned (the Job was killed).
 */
export const UPLOAD_GRACE_MS = 60 * 60_000;

/** The texts of the manifests among `objects` (one read each; one gone since the listing is left out). */
export async function readManifests(bucket: S3Bucket, objects: StoredObject[]): Promise<Map<string, string>> {
  const manifests = new Map<string, string>();
  for (const o of objects) {
    if (!o.key.endsWith(".manifest")) continue;
    const text = await bucket.getText(o.key);
    if (text !== undefined) manifests.set(o.key, text);
  }
  return manifests;
}

/** The catalog of the folder `prefix` (ends with `/`): every manifest in it is read. */
export async function readCatalog(bucket: S3Bucket, prefix: string): Promise<Catalog> {
  const objects = (await bucket.list(prefix)).filter((o) => !o.key.slice(prefix.length).includes("/"));
  return catalog(objects, await readManifests(bucket, objects));
}

/**
 * Publishes one backup: the dump, then the manifest, whose upload is the commit point (a run killed before it
 * leaves a dump that no listing shows and retention removes after the grace period).
 */
export async function publishBackup(
  bucket: S3Bucket,
  prefix: string,
  stem: string,
  dump: Uint8Array<ArrayBuffer>,
  manifest: string,
): Promise<void> {
  await bucket.put(`${prefix}${stem}.sql`, dump);
  await bucket.put(`${prefix}${stem}.manifest`, manifest);
}

/**
 * Applies retention (the newest `keep` complete backups, never the newest) and removes half-written uploads older
 * than the grace period: dumps without manifest and multipart uploads never completed (an upload killed
 * mid-stream leaves its parts, which no listing of objects shows). Returns what it removed (`upload:` before the
 * key of an aborted multipart upload). The catalog is read again first, so a backup published since the caller's
 * read is counted.
 */
export async function prune(
  bucket: S3Bucket,
  prefix: string,
  keep: number,
  now = new Date(),
  graceMs = UPLOAD_GRACE_MS,
): Promise<string[]> {
  const keys = removals(await readCatalog(bucket, prefix), keep, now, graceMs);
  for (const k of keys) await bucket.delete(k);
  const aborted: string[] = [];
  for (const u of await bucket.pendingUploads(prefix)) {
    if (u.key.slice(prefix.length).includes("/")) continue;
    if (now.getTime() - u.initiated.getTime() <= graceMs) continue;
    await bucket.abortUpload(u.key, u.uploadId);
    aborted.push(`upload:${u.key}`);
  }
  return [...keys, ...aborted];
}

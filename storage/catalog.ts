/**
 * The backups in an object store, decided from a listing (pure). The layout and the rules are the backup volume's
 * (templates/scripts/backup.sh), applied to a bucket:
 * - each instance's backups sit under `<prefix>/<cluster>/<namespace>/<name>/`, one dump `<stem>.sql` and one
 *   manifest `<stem>.manifest` each, in the volume's manifest format (`key=value` lines);
 * - a backup exists only once its manifest is there, names its dump, and the dump's size is the manifest's
 *   `bytes` (the manifest is uploaded last, after the dump is complete): anything else is half-written, never
 *   listed or restored, and removed once older than a grace period (an upload still running is younger);
 * - retention keeps the newest N complete backups by sequence number, and never the newest one.
 *
 * @module
 */
import { storeClusterName, storeInstancePath } from "../templates/names.ts";

/** One object of a bucket listing. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** A parsed manifest: the fields the catalog reads (all fields are kept in `fields`). */
export interface Manifest {
  instanceId: string;
  instanceUid: string;
  database: string;
  file: string;
  time: string;
  seq: number;
  bytes: number;
  sha256: string;
  reason: string;
  fields: Record<string, string>;
}

/** One complete backup. */
export interface StoredBackup {
  /** Key of the dump. */
  dumpKey: string;
  manifestKey: string;
  manifest: Manifest;
}

/** The catalog of one instance's folder. */
export interface Catalog {
  /** Complete backups, newest first (by sequence number, then time). */
  backups: StoredBackup[];
  /**
   * Keys that belong to no complete backup, each with why. `removable`: a dump without any manifest, or a manifest
   * whose dump is gone; a dump whose manifest exists but cannot be read or does not match is kept (and reported):
   * deleting data is never decided from a manifest that was not understood.
   */
  incomplete: { key: string; why: string; lastModified: Date; removable: boolean }[];
}

/** Why a manifest is not one: thrown by `parseManifest`. */
export class ManifestError extends Error {}

/**
 * Object key prefix of one instance's backups (templates/names.ts `storeInstancePath`, ending with `/`). The
 * cluster is taken as it is here: a name the Jobs could not use is refused, not renamed.
 */
export function instancePrefix(prefix: string, cluster: string, namespace: string, name: string): string {
  for (const p of [cluster, namespace, name]) {
    if (p.includes("/") || p === "." || p === ".." || storeClusterName(p) !== p) {
      throw new ManifestError(`not a key segment: ${p}`);
    }
  }
  return storeInstancePath(prefix, cluster, { namespace, name }) + "/";
}

/** Parses a manifest's text (format 1 of templates/scripts/backup.sh); throws ManifestError. */
export function parseManifest(text: string): Manifest {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new ManifestError(`not a key=value line: ${line.slice(0, 80)}`);
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (fields.format !== "1") throw new ManifestError(`unknown manifest format: ${fields.format ?? "none"}`);
  const int = (k: string) => {
    const v = fields[k];
    if (v === undefined || !/^\d+$/.test(v)) {
      throw new ManifestError(`${k} is not a number: ${v ?? "missing"}`);
    }
    return Number(v);
  };
  const str = (k: string) => {
    const v = fields[k];
    if (v === undefined || v === "") throw new ManifestError(`${k} is missing`);
    return v;
  };
  const sha256 = str("sha256");
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ManifestError("sha256 is not 64 hex digits");
  return {
    instanceId: str("instance_id"),
    instanceUid: fields.instance_uid ?? "",
    database: str("database"),
    file: str("file"),
    time: str("time"),
    seq: int("seq"),
    bytes: int("bytes"),
    sha256,
    reason: fields.reason ?? "",
    fields,
  };
}

/**
 * The catalog of one instance's folder from its listing and the texts of its manifests (`manifests[key]`; a
 * manifest that could not be read is absent and makes its backup incomplete).
 */
export function catalog(
  objects: StoredObject[],
  manifests: ReadonlyMap<string, string>,
): Catalog {
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const used = new Set<string>();
  const backups: StoredBackup[] = [];
  const incomplete: Catalog["incomplete"] = [];
  for (const o of objects) {
    if (!o.key.endsWith(".manifest")) continue;
    const stem = o.key.slice(0, -".manifest".length);
    const dumpKey = `${stem}.sql`;
    const dump = byKey.get(dumpKey);
    const text = manifests.get(o.key);
    let why: string | undefined;
    let manifest: Manifest | undefined;
    try {
      if (text === undefined) throw new ManifestError("manifest not read");
      manifest = parseManifest(text);
      if (`${stem.slice(stem.lastIndexOf("/") + 1)}.sql` !== manifest.file) {
        throw new ManifestError(`manifest names ${manifest.file}`);
      }
      if (!dump) throw new ManifestError("dump missing");
      if (dump.size !== manifest.bytes) {
        throw new ManifestError(`dump is ${dump.size} bytes, manifest says ${manifest.bytes}`);
      }
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
      why = e.message;
    }
    if (why === undefined && manifest && dump) {
      backups.push({ dumpKey, manifestKey: o.key, manifest });
    } else {
      incomplete.push({
        key: o.key,
        why: why ?? "incomplete",
        lastModified: o.lastModified,
        removable: !dump,
      });
      if (dump) {
        incomplete.push({
          key: dumpKey,
          why: `its manifest: ${why}`,
          lastModified: dump.lastModified,
          removable: false,
        });
      }
    }
    used.add(o.key).add(dumpKey);
  }
  for (const o of objects) {
    if (used.has(o.key)) continue;
    const dump = o.key.endsWith(".sql");
    incomplete.push({
      key: o.key,
      why: dump ? "dump without manifest" : "not a backup file",
      lastModified: o.lastModified,
      removable: dump,
    });
  }
  backups.sort((a, b) => b.manifest.seq - a.manifest.seq || (a.manifest.time < b.manifest.time ? 1 : -1));
  return { backups, incomplete };
}

/**
 * What retention removes: complete backups past the newest `keep` (at least 1, so never the newest), manifest
 * before dump (an interrupted removal leaves a dump without manifest, which is not a backup any more), and
 * removable incomplete objects older than `graceMs` at `now` (an upload still running is younger).
 */
export function removals(c: Catalog, keep: number, now: Date, graceMs: number): string[] {
  const out: string[] = [];
  for (const b of c.backups.slice(Math.max(1, keep))) out.push(b.manifestKey, b.dumpKey);
  for (const i of c.incomplete) {
    if (i.removable && now.getTime() - i.lastModified.getTime() > graceMs) out.push(i.key);
  }
  return out;
}

/** The next sequence number: one more than the highest in the catalog (complete backups only). */
export function nextSeq(c: Catalog): number {
  return c.backups.reduce((m, b) => Math.max(m, b.manifest.seq), 0) + 1;
}

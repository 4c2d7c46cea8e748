import { deepStrictEqual, throws } from "node:assert/strict";
import {
  catalog,
  instancePrefix,
  ManifestError,
  nextSeq,
  parseManifest,
  removals,
  type StoredObject,
} from "./catalog.ts";

const SHA = "a".repeat(64);
const P = "backups/mo-1/ns/db/";

function manifest(stem: string, seq: number, bytes: number, extra: Record<string, string> = {}): string {
  const f: Record<string, string> = {
    format: "1",
    instance_id: "ns/db",
    instance_uid: "u1",
    database: "otus",
    file: `${stem}.sql`,
    time: `2026-12-0${seq}T00:00:00Z`,
    seq: String(seq),
    bytes: String(bytes),
    sha256: SHA,
    reason: "scheduled",
    ...extra,
  };
  return Object.entries(f).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

const T0 = new Date("2026-12-04T10:00:00Z");
const obj = (name: string, size: number, ageMin = 120): StoredObject => ({
  key: P + name,
  size,
  lastModified: new Date(T0.getTime() - ageMin * 60_000),
});

/** A folder with three complete backups (seq 1..3) and what goes wrong around them. */
function folder() {
  const objects = [
    obj("b1.sql", 10),
    obj("b1.manifest", 1),
    obj("b2.sql", 20),
    obj("b2.manifest", 1),
    obj("b3.sql", 30),
    obj("b3.manifest", 1),
    obj("killed.sql", 5), // upload killed before its manifest, two hours ago
    obj("running.sql", 7, 1), // an upload of a minute ago: may still get its manifest
    obj("short.sql", 3), // the manifest says 4 bytes: a dump that is not what was checksummed
    obj("short.manifest", 1),
    obj("orphan.manifest", 1), // its dump is gone
    obj("garbled.sql", 9),
    obj("garbled.manifest", 1),
    obj("unread.sql", 9),
    obj("unread.manifest", 1), // could not be read this time
    obj("README", 2),
  ];
  const texts = new Map([
    [P + "b1.manifest", manifest("b1", 1, 10)],
    [P + "b2.manifest", manifest("b2", 2, 20)],
    [P + "b3.manifest", manifest("b3", 3, 30)],
    [P + "short.manifest", manifest("short", 4, 4)],
    [P + "orphan.manifest", manifest("orphan", 5, 1)],
    [P + "garbled.manifest", "format=1\nseq=x\n"],
  ]);
  return catalog(objects, texts);
}

Deno.test("catalog: only backups whose manifest names a dump of its size are listed, newest first", () => {
  const c = folder();
  deepStrictEqual(c.backups.map((b) => [b.dumpKey.slice(P.length), b.manifest.seq]), [["b3.sql", 3], [
    "b2.sql",
    2,
  ], [
    "b1.sql",
    1,
  ]]);
  deepStrictEqual(nextSeq(c), 4);
  const why = Object.fromEntries(c.incomplete.map((i) => [i.key.slice(P.length), [i.removable, i.why]]));
  deepStrictEqual(why, {
    "killed.sql": [true, "dump without manifest"],
    "running.sql": [true, "dump without manifest"],
    "short.manifest": [false, "dump is 3 bytes, manifest says 4"],
    "short.sql": [false, "its manifest: dump is 3 bytes, manifest says 4"],
    "orphan.manifest": [true, "dump missing"],
    "garbled.manifest": [false, "sha256 is missing"],
    "garbled.sql": [false, "its manifest: sha256 is missing"],
    "unread.manifest": [false, "manifest not read"],
    "unread.sql": [false, "its manifest: manifest not read"],
    README: [false, "not a backup file"],
  });
});

Deno.test("removals: keep N newest, never the newest, manifest before dump; abandoned uploads after the grace", () => {
  const c = folder();
  const hour = 60 * 60_000;
  const table: [number, string[]][] = [
    [3, ["orphan.manifest", "killed.sql"]],
    [2, ["b1.manifest", "b1.sql", "orphan.manifest", "killed.sql"]],
    [1, ["b2.manifest", "b2.sql", "b1.manifest", "b1.sql", "orphan.manifest", "killed.sql"]],
    // keep 0 is read as 1: the newest backup is never removed
    [0, ["b2.manifest", "b2.sql", "b1.manifest", "b1.sql", "orphan.manifest", "killed.sql"]],
  ];
  for (const [keep, want] of table) {
    deepStrictEqual(removals(c, keep, T0, hour).map((k) => k.slice(P.length)), want, `keep ${keep}`);
  }
  // Within the grace everything incomplete stays.
  deepStrictEqual(removals(c, 3, T0, 3 * hour), []);
});

Deno.test("parseManifest: format, numbers and checksum are checked", () => {
  deepStrictEqual(parseManifest(manifest("x", 7, 12)).seq, 7);
  const bad: [string, string][] = [
    [manifest("x", 1, 1, { format: "2" }), "unknown manifest format: 2"],
    [manifest("x", 1, 1, { bytes: "-1" }), "bytes is not a number: -1"],
    [manifest("x", 1, 1, { sha256: "zz" }), "sha256 is not 64 hex digits"],
    ["no equals sign\n", "not a key=value line: no equals sign"],
  ];
  for (const [text, message] of bad) throws(() => parseManifest(text), new ManifestError(message));
});

Deno.test("instancePrefix: one folder per cluster/namespace/name; a segment cannot climb out of it", () => {
  deepStrictEqual(instancePrefix("/backups/", "mo-1", "ns", "db"), "backups/mo-1/ns/db/");
  deepStrictEqual(instancePrefix("", "mo-1", "ns", "db"), "mo-1/ns/db/");
  throws(() => instancePrefix("b", "mo/1", "ns", "db"), ManifestError);
  throws(() => instancePrefix("b", "mo-1", "..", "db"), ManifestError);
});

import { deepStrictEqual } from "node:assert/strict";
import { backupRows } from "./store_listing.ts";
import type { StoredObject } from "./catalog.ts";

const SHA = "b".repeat(64);
const T = new Date("2026-12-04T10:00:00Z");

function manifest(id: string, stem: string, seq: number, time: string, bytes = 5): string {
  return [
    "format=1",
    `instance_id=${id}`,
    "instance_uid=u",
    "database=d",
    `file=${stem}.sql`,
    `time=${time}`,
    `seq=${seq}`,
    `bytes=${bytes}`,
    `sha256=${SHA}`,
    "reason=scheduled",
  ].join("\n");
}

Deno.test("backupRows: complete backups of every instance folder, newest first; strays and other depths left out", () => {
  const objects: StoredObject[] = [];
  const manifests = new Map<string, string>();
  const add = (
    folder: string,
    id: string,
    stem: string,
    seq: number,
    time: string,
    opts: { manifest?: boolean } = {},
  ) => {
    objects.push({ key: `mo/${folder}/${stem}.sql`, size: 5, lastModified: T });
    if (opts.manifest === false) return;
    objects.push({ key: `mo/${folder}/${stem}.manifest`, size: 1, lastModified: T });
    manifests.set(`mo/${folder}/${stem}.manifest`, manifest(id, stem, seq, time));
  };
  add("c1/ns/a", "ns/a", "a1", 1, "2026-12-01T00:00:00Z");
  add("c1/ns/a", "ns/a", "a2", 2, "2026-12-03T00:00:00Z");
  add("c2/ns/a", "ns/a", "a1", 1, "2026-12-02T00:00:00Z"); // the same name in another cluster: another instance
  add("c1/ns/b", "ns/b", "b1", 1, "2026-12-03T00:00:00Z");
  add("c1/ns/b", "ns/b", "b2", 2, "2026-12-04T00:00:00Z", { manifest: false }); // an upload not finished
  add("c1/ns/c", "ns/a", "x1", 1, "2026-12-04T00:00:00Z"); // ns/a's manifest copied into ns/c's folder
  objects.push({ key: "mo/c1/ns/a/deeper/z.sql", size: 1, lastModified: T }, {
    key: "other/c1/ns/a/q.sql",
    size: 1,
    lastModified: T,
  });

  const rows = backupRows("mo/", objects, manifests);
  deepStrictEqual(rows.map((r) => [r.cluster, r.namespace, r.name, r.seq, r.time.slice(0, 10)]), [
    ["c1", "ns", "a", 2, "2026-12-03"],
    ["c1", "ns", "b", 1, "2026-12-03"],
    ["c2", "ns", "a", 1, "2026-12-02"],
    ["c1", "ns", "a", 1, "2026-12-01"],
  ]);
  deepStrictEqual(rows[0].key, "mo/c1/ns/a/a2.sql");
  deepStrictEqual(backupRows("nothing/", objects, manifests), []);
});

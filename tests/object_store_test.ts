/**
 * The object store layer (storage/) against a real S3-compatible server: versitygw built from the Go module proxy
 * (tools/objstore/versitygw.ts), its POSIX backend in a temporary directory.
 */
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { startObjectStore } from "../tools/objstore/versitygw.ts";
import { S3Bucket, S3Error } from "../storage/s3.ts";
import { prune, publishBackup, readCatalog } from "../storage/store_backups.ts";
import { instancePrefix } from "../storage/catalog.ts";
import { listStoreBackups } from "../storage/store_listing.ts";
import { manifestText } from "./_manifest.ts";

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function manifestFor(
  stem: string,
  seq: number,
  dump: Uint8Array<ArrayBuffer>,
  instance = "ns/db",
): Promise<string> {
  const time = `2026-12-04T10:0${seq}:00Z`;
  return manifestText({ instance, stem, seq, bytes: dump.length, time, sha256: await sha256(dump) });
}

Deno.test("object store: published backups are listed newest first; a killed upload is never listed and is removed after the grace; retention keeps N and never the newest", async () => {
  const root = await Deno.makeTempDir({ prefix: "mo-objstore-" });
  const server = await startObjectStore(root, { buckets: ["backups"] });
  try {
    const bucket = new S3Bucket({ ...server, bucket: "backups" });
    const prefix = instancePrefix("mo", "mo-test-1", "ns", "db");
    const enc = new TextEncoder();
    for (const seq of [1, 2, 3]) {
      const dump = enc.encode(`-- dump ${seq}\n`.repeat(1000 * seq) + "-- Dump completed\n");
      await publishBackup(bucket, prefix, `db-${seq}`, dump, await manifestFor(`db-${seq}`, seq, dump));
    }
    // An upload killed between the dump and its manifest; and another instance's backup beside this one's.
    await bucket.put(`${prefix}db-4.sql`, enc.encode("-- half of a dump\n"));
    const other = instancePrefix("mo", "mo-test-1", "ns", "db-other");
    const otherDump = enc.encode("-- other\n");
    await publishBackup(
      bucket,
      other,
      "db-other-1",
      otherDump,
      await manifestFor("db-other-1", 1, otherDump, "ns/db-other"),
    );

    const c = await readCatalog(bucket, prefix);
    deepStrictEqual(c.backups.map((b) => b.manifest.seq), [3, 2, 1]);
    deepStrictEqual(c.incomplete.map((i) => [i.key.slice(prefix.length), i.why]), [[
      "db-4.sql",
      "dump without manifest",
    ]]);
    // The dump listed is the bytes the manifest describes.
    const got = enc.encode(await bucket.getText(c.backups[0].dumpKey));
    deepStrictEqual(await sha256(got), c.backups[0].manifest.sha256);

    // Within the grace period the half-written dump may still be an upload running: kept.
    deepStrictEqual(await prune(bucket, prefix, 3), []);
    // Retention to 1, the grace over: the two older backups (manifest first) and the abandoned dump go.
    const removed = await prune(bucket, prefix, 1, new Date(Date.now() + 2 * 60 * 60_000));
    deepStrictEqual(removed.map((k) => k.slice(prefix.length)), [
      "db-2.manifest",
      "db-2.sql",
      "db-1.manifest",
      "db-1.sql",
      "db-4.sql",
    ]);
    // What the bucket holds is exactly the newest backup of this instance, and the other instance's untouched.
    const keys = (await bucket.list("mo/")).map((o) => o.key).sort();
    deepStrictEqual(
      keys,
      [`${prefix}db-3.manifest`, `${prefix}db-3.sql`, `${other}db-other-1.manifest`, `${other}db-other-1.sql`]
        .sort(),
    );
    // keep 0 never removes the last good backup.
    deepStrictEqual(await prune(bucket, prefix, 0), []);
    // The listing of every instance shows what the bucket holds: one row per dump that has its manifest.
    const rows = await listStoreBackups(bucket, "mo/");
    deepStrictEqual(rows.map((r) => r.key).sort(), keys.filter((k) => k.endsWith(".sql")));
    deepStrictEqual(rows.map((r) => `${r.cluster}/${r.namespace}/${r.name}#${r.seq}`).sort(), [
      "mo-test-1/ns/db#3",
      "mo-test-1/ns/db-other#1",
    ]);
  } finally {
    await server.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("object store: listings page past 1000 keys; wrong credentials and a missing bucket are errors with S3's code", async () => {
  const root = await Deno.makeTempDir({ prefix: "mo-objstore-" });
  const server = await startObjectStore(root, { buckets: ["backups"] });
  try {
    const bucket = new S3Bucket({ ...server, bucket: "backups" });
    const names = Array.from({ length: 1105 }, (_, i) => `many/k-${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((k) => bucket.put(k, "x")));
    }
    deepStrictEqual((await bucket.list("many/")).map((o) => o.key), names);
    deepStrictEqual(await bucket.getText("many/none"), undefined);

    const wrong = new S3Bucket({ ...server, secretAccessKey: "not-the-secret", bucket: "backups" });
    await rejects(wrong.list("many/"), (e) => e instanceof S3Error && e.status === 403);
    const missing = new S3Bucket({ ...server, bucket: "no-such-bucket" });
    await rejects(missing.put("k", "x"), (e) => e instanceof S3Error && e.code === "NoSuchBucket");
    // The secret never appears in what an error says.
    const err = await wrong.getText("many/k-00001").catch((e) => e);
    ok(err instanceof S3Error && !String(err.message).includes("not-the-secret"));
  } finally {
    await server.stop();
    await Deno.remove(root, { recursive: true });
  }
});

import { deepStrictEqual, equal } from "node:assert/strict";
import { humanBytes, sortRows, storeId, storeRows, storesOf, volumeRow } from "./backups_list.ts";
import { mysqlObject } from "../templates/testing.ts";
import type { ObjectStoreSpec } from "../api/mysql.ts";

const STORE: ObjectStoreSpec = {
  endpoint: "https://s3.example.com",
  bucket: "b",
  prefix: "team",
  credentialsSecretRef: { name: "keys" },
};
const inStore = (namespace: string, store: Partial<ObjectStoreSpec> = {}) =>
  mysqlObject({ namespace, name: "db", spec: { backup: { objectStore: { ...STORE, ...store } } } });

Deno.test("storesOf: each store once (endpoint, bucket, prefix), with every Secret that names its keys, in order", () => {
  const stores = storesOf([
    { cluster: "east", mysql: inStore("a") },
    { cluster: "west", mysql: inStore("b", { credentialsSecretRef: { name: "k", accessKeyIdKey: "id" } }) },
    { cluster: "east", mysql: inStore("c", { prefix: "other" }) },
    { cluster: "east", mysql: mysqlObject({ namespace: "d" }) },
  ]);
  deepStrictEqual(stores.map((s) => [s.id, s.prefix, s.region]), [
    ["https://s3.example.com/b/team", "team/", "us-east-1"],
    ["https://s3.example.com/b/other", "other/", "us-east-1"],
  ]);
  deepStrictEqual(stores[0].secrets, [
    {
      cluster: "east",
      namespace: "a",
      name: "keys",
      idKey: "AWS_ACCESS_KEY_ID",
      secretKey: "AWS_SECRET_ACCESS_KEY",
    },
    { cluster: "west", namespace: "b", name: "k", idKey: "id", secretKey: "AWS_SECRET_ACCESS_KEY" },
  ]);
  equal(storeId({ ...STORE, prefix: undefined }), "https://s3.example.com/b");
});

Deno.test("volumeRow: the newest recorded backup of a volume instance; none for a store instance or without one", () => {
  const vol = mysqlObject({ namespace: "ns", name: "v" });
  equal(volumeRow("east", vol), undefined);
  vol.status = { lastBackupTime: "2026-12-01T00:00:00Z", lastBackup: "ns_v/x.sql" };
  deepStrictEqual(volumeRow("east", vol), {
    instance: "ns/v",
    cluster: "east",
    target: "volume",
    time: "2026-12-01T00:00:00Z",
    verified: "recorded",
    file: "ns_v/x.sql",
  });
  const stored = inStore("ns");
  stored.status = vol.status;
  equal(volumeRow("east", stored), undefined, "a store instance's rows come from the store");
});

Deno.test("sortRows: newest first, then cluster and instance; storeRows keeps the store's facts", () => {
  const rows = storeRows({ id: "s" }, [
    {
      cluster: "b",
      namespace: "n",
      name: "x",
      instanceUid: "u",
      time: "2026-01-01T00:00:00Z",
      seq: 1,
      bytes: 10,
      sha256: "s",
      reason: "final",
      key: "k1",
    },
    {
      cluster: "a",
      namespace: "n",
      name: "x",
      instanceUid: "u",
      time: "2026-01-01T00:00:00Z",
      seq: 1,
      bytes: 10,
      sha256: "s",
      reason: "manual",
      key: "k2",
    },
    {
      cluster: "a",
      namespace: "n",
      name: "x",
      instanceUid: "u",
      time: "2026-02-01T00:00:00Z",
      seq: 2,
      bytes: 10,
      sha256: "s",
      reason: "scheduled",
      key: "k3",
    },
  ]);
  deepStrictEqual(sortRows(rows).map((r) => r.file), ["k3", "k2", "k1"]);
  deepStrictEqual(rows[0], {
    instance: "n/x",
    cluster: "b",
    target: "s",
    time: "2026-01-01T00:00:00Z",
    bytes: 10,
    verified: "manifest",
    file: "k1",
    seq: 1,
    reason: "final",
  });
});

Deno.test("humanBytes: bytes, then binary units with one decimal", () => {
  deepStrictEqual([0, 1023, 1024, 40 * 1024 * 1024 + 1, undefined].map(humanBytes), [
    "0 B",
    "1023 B",
    "1.0 KiB",
    "40.0 MiB",
    "-",
  ]);
});

import { deepStrictEqual, equal } from "node:assert/strict";
import { childNames, fnv1a64 } from "./names.ts";
// The runtime's copy (Lease names, shard ranking): the layering keeps the two apart, this test keeps them equal.
import { fnv1a64 as runtimeFnv1a64 } from "../runtime/fnv.ts";

/** FNV-1a 64-bit as defined, in BigInt: what names were derived with before, and must stay. */
function reference(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

Deno.test("fnv1a64: the published test vectors", () => {
  equal(fnv1a64(""), "cbf29ce484222325");
  equal(fnv1a64("a"), "af63dc4c8601ec8c");
  equal(fnv1a64("foobar"), "85944171f73967e8");
});

Deno.test("fnv1a64, here and in the runtime, equals the BigInt definition on every kind of text: no child is renamed", () => {
  const texts = [
    "ns\u0000db",
    "ns\u0000db\u0000" + crypto.randomUUID(),
    "ünïcödé 名前 🐬",
    "\u0000".repeat(40),
  ];
  // Random byte values in every position, long and short: carries of every size through the low half.
  for (let i = 0; i < 2000; i++) {
    const length = i % 97;
    texts.push(String.fromCharCode(...Array.from({ length }, () => 1 + Math.floor(Math.random() * 0x7ff))));
  }
  for (const t of texts) {
    equal(fnv1a64(t), reference(t), JSON.stringify(t));
    equal(runtimeFnv1a64(t), reference(t), JSON.stringify(t));
  }
});

Deno.test("childNames of an object are what they were with the BigInt hash", () => {
  // Recorded before the change: an object created by an earlier version keeps its volumes.
  const names = childNames({ namespace: "default", name: "mysql-instance", uid: "u-1" });
  deepStrictEqual([names.dataPV, names.backupPV], [
    "mysql-mysql-instance-data-d64ffa7457",
    "mysql-mysql-instance-backup-7acb6f6cf4",
  ]);
});

import { assertEquals } from "../tests/_assert.ts";
import { fnv1a64 } from "./fnv.ts";
import { leaseNameFor } from "./lease.ts";

Deno.test("fnv1a64 (the Lease name's hash) is FNV-1a 64-bit: its test vectors, and a name recorded before", () => {
  // templates/names_test.ts compares the same function with its BigInt definition on random text.
  assertEquals(fnv1a64(""), "cbf29ce484222325");
  assertEquals(fnv1a64("a"), "af63dc4c8601ec8c");
  assertEquals(fnv1a64("foobar"), "85944171f73967e8");
  assertEquals(fnv1a64("ünïcödé 名前 🐬"), "d394d58f6b77a730");
  // A changed Lease name would let two operator versions lead one cluster at once during an upgrade.
  assertEquals(leaseNameFor("mysql-operator", ["b", "a"]), "mysql-operator-e5d29919");
});

import { assertEquals } from "../tests/_assert.ts";
import { byCodeUnits } from "./order.ts";

Deno.test("byCodeUnits sorts like sort() without a comparator, and is 0 only for equal strings", () => {
  const words = [
    "b",
    "a",
    "Ready",
    "BackupReady",
    "2026-12-04T10:00:00Z",
    "2026-12-04T09:59:59Z",
    "a-b",
    "ab",
    "",
  ];
  assertEquals([...words].sort(byCodeUnits), [...words].sort());
  assertEquals(byCodeUnits("x", "x"), 0);
  assertEquals(Math.sign(byCodeUnits("B", "a")), -1, "by code unit, not by letter: upper case first");
});

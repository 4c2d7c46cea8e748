import { assertEquals, assertThrows } from "../tests/_assert.ts";
import { nextSlot, parseCron, previousSlot } from "./cron.ts";

Deno.test("cron: steps, ranges and lists", () => {
  const c = parseCron("*/15 2-3 * * 1,3");
  assertEquals([...c.minutes], [0, 15, 30, 45]);
  assertEquals([...c.hours], [2, 3]);
  assertEquals([...c.weekdays], [1, 3]);
});

Deno.test("cron: previous and next slots", () => {
  const c = parseCron("30 2 * * *");
  const now = new Date("2026-11-25T13:00:00Z");
  assertEquals(previousSlot(c, now)?.toISOString(), "2026-11-25T02:30:00.000Z");
  assertEquals(nextSlot(c, now)?.toISOString(), "2026-11-26T02:30:00.000Z");
  assertEquals(nextSlot(parseCron("@hourly"), now)?.toISOString(), "2026-11-25T14:00:00.000Z");
  assertEquals(
    previousSlot(parseCron("* * * * *"), new Date("2026-11-25T13:00:42Z"))?.toISOString(),
    "2026-11-25T13:00:00.000Z",
  );
});

Deno.test("cron: day-of-month OR day-of-week when both are restricted", () => {
  const c = parseCron("0 0 1 * 0"); // the 1st, or any Sunday
  assertEquals(nextSlot(c, new Date("2026-11-25T00:00:00Z"))?.toISOString(), "2026-11-29T00:00:00.000Z");
});

Deno.test("cron: clear errors", () => {
  assertThrows(() => parseCron("* * *"), "5 fields");
  assertThrows(() => parseCron("61 * * * *"), "minute");
  assertThrows(() => parseCron("* * * 13 *"), "month");
});

import { assertEquals } from "../tests/_assert.ts";
import { even } from "./replicas.ts";

Deno.test("even: every cluster led once, no replica more than one above another", () => {
  assertEquals(even([3, 3, 3], 9), true);
  assertEquals(even([4, 5], 9), true);
  assertEquals(even([2, 3, 4], 9), false, "uneven");
  assertEquals(even([3, 3, 2], 9), false, "a cluster unled");
  assertEquals(even([0, 1, 1], 2), true);
});

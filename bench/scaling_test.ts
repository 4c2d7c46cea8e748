import { assert, assertEquals } from "../tests/_assert.ts";
import { scalingChart, scalingMarkdown, type ScalingRow, slopes } from "./scaling.ts";

const row = (clusters: number, objects: number, idleRssMB: number): ScalingRow => ({
  clusters,
  objects,
  idleRssMB,
  dir: `r-${clusters}x${objects}`,
});

Deno.test("slopes: recovers the cost per cluster and per object of a linear figure; too few runs give none", () => {
  // idle RSS = 60 + 5 per cluster + 0.02 per object
  const rows = [[1, 100], [3, 100], [1, 300], [3, 300], [10, 1000]].map(([c, o]) =>
    row(c, o, 60 + 5 * c + 0.02 * o)
  );
  const s = slopes(rows, "idleRssMB")!;
  assertEquals([+s.perCluster.toFixed(6), +s.perObject.toFixed(6)], [5, 0.02]);
  assertEquals(slopes(rows.slice(0, 2), "idleRssMB"), undefined);
  assertEquals(
    slopes([row(1, 100, 1), row(1, 300, 2), row(1, 1000, 3)], "idleRssMB"),
    undefined,
    "no cluster spread",
  );
  // 3 x 333 is 999 objects: a column of one total must not pass for a spread of objects (it gave 4.9 MB per object).
  assertEquals(
    slopes([row(1, 1000, 133.3), row(3, 999, 136.8), row(10, 1000, 170.9)], "idleRssMB"),
    undefined,
    "objects spread only by rounding",
  );
});

Deno.test("scalingChart: a line per cluster count with a point per run; scalingMarkdown: a row per run", () => {
  const rows = [row(1, 100, 70), row(1, 300, 80), row(3, 100, 90), row(3, 300, 95)];
  const svg = scalingChart(rows, "idleRssMB", "idle RSS (MB)");
  assertEquals((svg.match(/<path /g) ?? []).length, 2);
  assertEquals((svg.match(/<circle /g) ?? []).length, 4);
  assert(svg.includes("3 clusters") && svg.includes("1 cluster<"), svg);
  const md = scalingMarkdown([...rows, { ...row(10, 100, 0), idleRssMB: undefined, error: "no room\nmore" }]);
  assertEquals(md.split("\n").filter((l) => /^\| \d+ \| \d+ \|/.test(l)).length, 5);
  assert(md.includes("FAILED: no room |"), md);
});

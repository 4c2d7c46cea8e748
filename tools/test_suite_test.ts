import { deepStrictEqual } from "node:assert/strict";
import { closingLines, readLine, type SuiteSummary } from "./test_suite.ts";

function summarise(lines: string[]): SuiteSummary {
  const s: SuiteSummary = { skipped: [] };
  for (const l of lines) readLine(s, l);
  return s;
}

Deno.test("the closing line counts passed, failed and ignored tests from deno test's summary", () => {
  const s = summarise([
    "\x1b[0m\x1b[38;5;245m./a_test.ts => \x1b[0mx ... \x1b[0m\x1b[32mok\x1b[0m",
    "\x1b[0m\x1b[31mFAILED\x1b[0m | 138 passed (4 steps) | 2 failed | 3 ignored \x1b[0m\x1b[38;5;245m(6m16s)\x1b[0m",
  ]);
  deepStrictEqual(closingLines(s, 1), ["tests: 138 passed, 2 failed, 3 skipped"]);
  deepStrictEqual(closingLines(summarise(["ok | 45 passed | 0 failed (3s)"]), 0), [
    "tests: 45 passed, 0 failed, 0 skipped",
  ]);
});

Deno.test("skip reasons are listed once each; a run without a summary says so", () => {
  const s = summarise([
    "SKIPPED tests/real_node_test.ts: not root",
    "SKIPPED tests/real_node_test.ts: not root",
    "SKIPPED tests/in_cluster_test.ts: no cgroups",
  ]);
  deepStrictEqual(closingLines(s, 137), [
    "skipped: tests/real_node_test.ts: not root; tests/in_cluster_test.ts: no cgroups",
    "tests: deno test printed no summary (exit code 137)",
  ]);
});

import { deepStrictEqual, ok } from "node:assert/strict";
import { plain, PROGRESS_EVERY, shownLine, TerminalView } from "./test_output.ts";

const grey = (s: string) => `\x1b[0m\x1b[38;5;245m${s}\x1b[0m`;
const result = (file: string, name: string, outcome: string) =>
  `${grey(`./${file} => `)}${name} ... \x1b[0m\x1b[32m${outcome}\x1b[0m ${grey("(618µs)")}`;

/** deno test --parallel's output of two files (recorded from deno 2.9.6): a pass, a failure, a skip, a step. */
const RUN = [
  grey("------- output -------"),
  "b says hi",
  `${grey("./a_test.ts => ")}passes ...${grey("----- output end -----")}`,
  result("a_test.ts", "passes", "ok"),
  grey("------- post-test output -------"),
  "diagnostic line",
  "'slow one' has been running for over (1m0s)",
  `${grey("./b_test.ts => ")}b passes ...${grey("----- post-test output end -----")}`,
  result("b_test.ts", "b passes", "ok"),
  result("a_test.ts", "prints then fails", "FAILED"),
  result("a_test.ts", "skipped one", "ignored"),
  result("a_test.ts", "with steps ... s1", "ok"),
  result("a_test.ts", "with steps", "ok"),
  "",
  "\x1b[0m\x1b[1m\x1b[37m\x1b[41m ERRORS \x1b[0m",
  "",
  `prints then fails ${grey("=> ./a_test.ts:2:6")}`,
  "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Error: boom",
  "",
  "\x1b[0m\x1b[1m\x1b[37m\x1b[41m FAILURES \x1b[0m",
  "",
  `prints then fails ${grey("=> ./a_test.ts:2:6")}`,
  "",
  `\x1b[0m\x1b[31mFAILED\x1b[0m | 3 passed (1 step) | 1 failed | 1 ignored ${grey("(8ms)")}`,
  "",
];

function show(view: TerminalView, lines: string[]): string[] {
  return lines.flatMap((l) => view.take(l)).map(plain);
}

Deno.test("the terminal gets failures, skips, slow tests, deno's errors and closing line; not passes, blank lines or output", () => {
  deepStrictEqual(show(new TerminalView(), RUN), [
    "'slow one' has been running for over (1m0s)",
    "./a_test.ts => prints then fails ... FAILED (618µs)",
    "./a_test.ts => skipped one ... ignored (618µs)",
    " ERRORS ",
    "",
    "prints then fails => ./a_test.ts:2:6",
    "error: Error: boom",
    "",
    " FAILURES ",
    "",
    "prints then fails => ./a_test.ts:2:6",
    "",
    "deno test: FAILED | 3 passed (1 step) | 1 failed | 1 ignored (8ms)",
    "",
  ]);
});

Deno.test("the tests' own output is shown after a failed run only, the newest lines, saying where the rest is", () => {
  const failed = new TerminalView({ holdLimit: 1 });
  show(failed, RUN);
  deepStrictEqual(failed.finish(true, "LOG").map(plain), [
    "test: the tests' own output, the last 1 lines; the 1 before them are in LOG:",
    "diagnostic line",
  ]);
  const passed = new TerminalView();
  show(passed, RUN);
  deepStrictEqual(passed.finish(false, "LOG"), []);
  const all = new TerminalView();
  show(all, RUN);
  deepStrictEqual(all.finish(true, "LOG").map(plain).slice(1), ["b says hi", "diagnostic line"]);
});

Deno.test("a progress line every 100 results counts failures, and never reads as a closing line", () => {
  let t = 0;
  const view = new TerminalView({ now: () => t });
  const lines = Array.from(
    { length: 2 * PROGRESS_EVERY },
    (_, i) => result("x_test.ts", `t${i}`, i === 7 ? "FAILED" : "ok"),
  );
  t = 90_000;
  const shown = show(view, lines);
  deepStrictEqual(shown, [
    "./x_test.ts => t7 ... FAILED (618µs)",
    "test: 100 tests and steps done after 1.5 min, 1 of them FAILED",
    "test: 200 tests and steps done after 1.5 min, 1 of them FAILED",
  ]);
  // CI's plain closing line is `N passed, N failed` (one word with a colon may come first): only the last line may be one.
  for (const l of shown) ok(!/^(\w+: )?\d+ passed, \d+ failed/.test(l), l);
});

Deno.test("--verbose shows every line as it came, deno's closing line marked", () => {
  const view = new TerminalView({ verbose: true });
  const shown = RUN.flatMap((l) => view.take(l));
  deepStrictEqual(shown.length, RUN.length);
  deepStrictEqual(shown.slice(0, 4), RUN.slice(0, 4));
  deepStrictEqual(plain(shown[23]), "deno test: FAILED | 3 passed (1 step) | 1 failed | 1 ignored (8ms)");
  deepStrictEqual(view.finish(true, "LOG"), []);
});

Deno.test("deno test's closing line is shown as `deno test: …`; every other line is passed on as it is", () => {
  deepStrictEqual(
    shownLine(
      "\x1b[0m\x1b[32mok\x1b[0m | 509 passed (8 steps) | 0 failed \x1b[0m\x1b[38;5;245m(11m36s)\x1b[0m",
    ),
    "deno test: ok | 509 passed (8 steps) | 0 failed (11m36s)",
  );
  deepStrictEqual(
    shownLine("FAILED | 1 passed | 2 failed | 3 ignored (3s)"),
    "deno test: FAILED | 1 passed | 2 failed | 3 ignored (3s)",
  );
  const test = result("a_test.ts", "x", "ok");
  deepStrictEqual(shownLine(test), test);
  deepStrictEqual(shownLine("ok | not a summary"), "ok | not a summary");
});

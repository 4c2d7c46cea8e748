import { deepStrictEqual, ok } from "node:assert/strict";
import {
  icuCalls,
  importsOf,
  overlongFiles,
  redefinedWords,
  sourceFiles,
  violations,
} from "./architecture.ts";
import { CONDITIONS, PHASES, REASONS } from "../api/status.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const importMap: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).imports;

Deno.test("the repository keeps its layering: runtime/ generic, templates/ on api/ alone", async () => {
  const files = await sourceFiles(ROOT);
  const paths = new Set(files.map((f) => f.path));
  // Not vacuous: the files the rules are about were read, and their imports are seen.
  for (const p of ["runtime/cluster_runtime.ts", "runtime/kube/client.ts", "templates/deployment.ts"]) {
    ok(paths.has(p), `${p} read`);
  }
  ok(importsOf(files.find((f) => f.path === "templates/deployment.ts")!.source).includes("../api/mysql.ts"));
  deepStrictEqual(violations(files, importMap), []);
});

Deno.test("the checker fails a bad import (fake files)", () => {
  const files = [
    { path: "runtime/bad.ts", source: 'import type { ClusterContext } from "../reconcilers/context.ts";\n' },
    { path: "runtime/kube/bad.ts", source: 'import {\n  GROUP,\n  KIND,\n} from "../../api/mysql.ts";\n' },
    { path: "runtime/lazy.ts", source: 'type T = typeof import("../templates/names.ts");\n' },
    { path: "runtime/reexport.ts", source: 'export * from "../api/mysql.ts";\n' },
    { path: "runtime/bad_test.ts", source: 'import { mysqlObject } from "../templates/testing.ts";\n' },
    { path: "templates/bad.ts", source: 'import { KubeClient } from "../runtime/kube/client.ts";\n' },
    { path: "templates/builtin.ts", source: 'import { readFileSync } from "node:fs";\n' },
    { path: "templates/unmapped.ts", source: 'import x from "left-pad";\n' },
  ];
  deepStrictEqual(violations(files, importMap), [
    "runtime/bad.ts: imports ../reconcilers/context.ts (the runtime is generic: no reconcilers/)",
    "runtime/kube/bad.ts: imports ../../api/mysql.ts (the runtime is generic: no api/)",
    "runtime/lazy.ts: imports ../templates/names.ts (the runtime is generic: no templates/)",
    "runtime/reexport.ts: imports ../api/mysql.ts (the runtime is generic: no api/)",
    "runtime/bad_test.ts: imports ../templates/testing.ts (the runtime is generic: no templates/)",
    "templates/bad.ts: imports ../runtime/kube/client.ts (templates import only api/, templates/ and npm packages)",
    "templates/builtin.ts: imports node:fs (templates import only api/, templates/ and npm packages)",
    "templates/unmapped.ts: imports left-pad (templates import only api/, templates/ and npm packages)",
  ]);
});

Deno.test("the checker lets allowed imports through", () => {
  const files = [
    {
      path: "runtime/ok.ts",
      source: [
        '/** Unlike `import { x } from "../reconcilers/context.ts"` in a comment. */',
        '// import { y } from "../api/mysql.ts";',
        'import { KubeClient } from "./kube/client.ts";',
        'import { getLogger } from "@logtape/logtape";',
        'const s = "../templates/names.ts";',
      ].join("\n"),
    },
    { path: "runtime/kube/ok.ts", source: 'import { sleep } from "../backoff.ts";\n' },
    {
      path: "templates/ok.ts",
      source: 'import type { MySQL } from "../api/mysql.ts";\nimport { a } from "./names.ts";\n' +
        'import { stringify } from "yaml";\nimport { z } from "npm:zod@4";\n',
    },
    // Test code of templates may use test tools; the runtime's may not reach past the runtime.
    { path: "templates/ok_test.ts", source: 'import { ok } from "node:assert/strict";\n' },
    { path: "templates/_lint.ts", source: 'import { ensurePackages } from "../tools/real_node/host.ts";\n' },
    { path: "reconcilers/x.ts", source: 'import { KubeClient } from "../runtime/kube/client.ts";\n' },
  ];
  deepStrictEqual(violations(files, importMap), []);
});

Deno.test("importsOf: static, type-only, multi-line, re-export, side-effect and dynamic imports", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "./b.ts";',
    "import {",
    "  type C,",
    "  d as e,",
    '} from "./c.ts";',
    'import * as f from "./f.ts";',
    'export { g } from "./g.ts";',
    'import "./side.ts";',
    'const h = await import("./h.ts");',
    'export const notAnImport = "./x.ts";',
  ].join("\n");
  deepStrictEqual(importsOf(source).sort(), [
    "./a.ts",
    "./b.ts",
    "./c.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./side.ts",
  ]);
});

/** Condition types, reasons and phases: the API's words. */
const WORDS = new Set<string>([
  ...Object.values(CONDITIONS),
  ...Object.values(REASONS),
  ...Object.values(PHASES),
]);
/**
 * Spelled the same in other vocabularies: Kubernetes' Job condition `Failed`; `status.restore.result` values (a
 * union in the API type, so checked by the compiler); the Job report's results and failure reasons
 * (templates/job_report.ts: what the scripts write).
 */
const ALLOWED = new Set(["Failed", "Restored", "NothingToRestore", "KeptData", "RestoreFailed"]);

Deno.test("product code spells no API word itself and no product file exceeds 300 lines", async () => {
  const files = await sourceFiles(ROOT);
  deepStrictEqual(redefinedWords(files, WORDS, ALLOWED), []);
  deepStrictEqual(overlongFiles(files), []);
});

Deno.test("the checkers fail a redefined word and an overlong file (fake files)", () => {
  const files = [
    {
      path: "reconcilers/bad.ts",
      source: 'sb.set("Ready", "False", "MySQLNotReady", "m");\nconst f = `otus.homework/x`;\n',
    },
    { path: "runtime/bad.ts", source: "const phase = 'Provisioning';\n" },
    {
      path: "reconcilers/ok.ts",
      source: '// "Ready" in a comment\nsb.set(CONDITIONS.ready, "False", REASONS.x, "Ready soon");\n',
    },
    { path: "reconcilers/ok_test.ts", source: 'equal(c.reason, "MySQLNotReady");\n' },
    { path: "api/status.ts", source: 'export const PHASES = { ready: "Ready" };\n' },
    { path: "reconcilers/job.ts", source: 'if (c.type === "Failed") {}\n' },
  ];
  deepStrictEqual(redefinedWords(files, WORDS, ALLOWED), [
    'reconcilers/bad.ts: "Ready" (use the constant in api/)',
    'reconcilers/bad.ts: "MySQLNotReady" (use the constant in api/)',
    'reconcilers/bad.ts: "otus.homework/x" (use the constant in api/)',
    'runtime/bad.ts: "Provisioning" (use the constant in api/)',
  ]);
  const long = { path: "reconcilers/long.ts", source: "x;\n".repeat(301) };
  const fine = { path: "reconcilers/fine.ts", source: "x;\n".repeat(300) };
  const tool = { path: "tools/long.ts", source: "x;\n".repeat(400) };
  const test = { path: "reconcilers/long_test.ts", source: "x;\n".repeat(400) };
  deepStrictEqual(overlongFiles([long, fine, tool, test]), ["reconcilers/long.ts: 301 lines (at most 300)"]);
});

Deno.test("product code calls no ICU collation or locale formatting", async () => {
  const files = await sourceFiles(ROOT);
  ok(files.some((f) => f.path === "reconcilers/status.ts"), "the product files were read");
  deepStrictEqual(icuCalls(files), []);
});

Deno.test("the ICU checker finds each kind of call, and not in comments, tests or tools (fake files)", () => {
  const files = [
    { path: "reconcilers/a.ts", source: "xs.sort((a, b) => a.name.localeCompare(b.name));\n" },
    {
      path: "cli/b.ts",
      source: "const t = new Date().toLocaleString();\nconst f = new Intl.NumberFormat();\n",
    },
    {
      path: "runtime/c.ts",
      source: "// a.localeCompare(b) would touch ICU\n/** Intl.Collator */\nconst x = 1;\n",
    },
    { path: "runtime/c_test.ts", source: "a.localeCompare(b);\n" },
    { path: "tools/d.ts", source: "a.localeCompare(b);\n" },
  ];
  deepStrictEqual(icuCalls(files), [
    "reconcilers/a.ts: .localeCompare( (ICU: use byCodeUnits of runtime/order.ts)",
    "cli/b.ts: .toLocaleString( (ICU: use byCodeUnits of runtime/order.ts)",
    "cli/b.ts: Intl.NumberFormat (ICU: use byCodeUnits of runtime/order.ts)",
  ]);
});

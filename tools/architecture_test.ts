import { deepStrictEqual, ok } from "node:assert/strict";
import { importsOf, sourceFiles, violations } from "./architecture.ts";

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

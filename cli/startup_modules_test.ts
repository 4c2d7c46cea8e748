/**
 * What `mysql-operator run` loads at start, from Deno's own module graph (`deno info --json`): no CommonJS module
 * and no Node built-in but `node:util` (parseArgs). Either would load Deno's Node compatibility layer for the
 * life of the process: the CommonJS build of `yaml`, `node:crypto` and `node:process` together were 2.5 MB of the
 * idle operator's resident memory (README, "Memory"). Modules behind a dynamic `import()` (client-node, only for
 * exec plugins and the like) are not loaded at start and are left out.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../tests/_assert.ts";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface GraphModule {
  kind: string;
  specifier: string;
  local?: string;
  dependencies?: Dependency[];
}

const ROOT = new URL("../", import.meta.url);

/** The modules `entry` loads statically (dynamic imports not followed), from `deno info --json`. */
async function staticModules(entry: string): Promise<GraphModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno info ${entry} failed`);
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...graph.roots];
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code) todo.push(dep.code.specifier);
    }
  }
  return [...seen].map((s) => bySpecifier.get(s) ?? { kind: "missing", specifier: s });
}

/** True when a JavaScript file in node_modules is CommonJS (Node's rule: extension, else nearest package.json). */
function isCommonJs(path: string): boolean {
  if (path.endsWith(".cjs")) return true;
  if (path.endsWith(".mjs") || !path.endsWith(".js")) return false;
  for (let dir = dirname(path); dir.includes("node_modules"); dir = dirname(dir)) {
    try {
      return JSON.parse(Deno.readTextFileSync(`${dir}/package.json`)).type !== "module";
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return true;
}

/** The Node built-ins and CommonJS files among `modules`. */
function nodeCompat(modules: GraphModule[]): string[] {
  return modules.filter((m) =>
    m.kind === "node" || (m.kind === "external" && m.local !== undefined && isCommonJs(m.local))
  ).map((m) => m.specifier).sort();
}

Deno.test("run loads at start no CommonJS module and no Node built-in but node:util", async () => {
  const modules = await staticModules("cli/run.ts");
  assertEquals(nodeCompat(modules), ["node:util"]);
  // The graph was read at all: the operator's own runtime and its npm packages are in it.
  const specifiers = modules.map((m) => m.specifier);
  for (const want of ["runtime/operator.ts", "node_modules/zod/", "node_modules/yaml/browser/"]) {
    assert(specifiers.some((s) => s.includes(want)), want);
  }
});

Deno.test("the check finds CommonJS and Node built-ins (what the start used to load)", () => {
  const dir = fileURLToPath(new URL("node_modules/yaml/", ROOT));
  const modules: GraphModule[] = [
    { kind: "node", specifier: "node:crypto" },
    { kind: "external", specifier: "yaml-cjs", local: `${dir}dist/index.js` },
    { kind: "external", specifier: "yaml-esm", local: `${dir}browser/index.js` },
    { kind: "external", specifier: "types", local: `${dir}dist/index.d.ts` },
    { kind: "esm", specifier: "file:///a.ts" },
  ];
  assertEquals(nodeCompat(modules), ["node:crypto", "yaml-cjs"]);
});

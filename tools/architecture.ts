/**
 * The layering of the repository, checked from the import statements of its files:
 * - runtime/ (runtime/kube/ included) is a generic per-cluster runtime: it imports nothing from reconcilers/, api/ or
 *   templates/, so it cannot grow MySQL knowledge back (controllers register with it: runtime/controller.ts);
 * - templates/ renders objects from the API types alone: its product files import only api/, templates/ and npm
 *   packages. Test code (`*_test.ts` and the `_`-prefixed helpers) may use test tools.
 *
 * @module
 */
import { posix } from "node:path";

/** A source file: its path from the repository root (`/`-separated) and its text. */
export interface SourceFile {
  path: string;
  source: string;
}

/** Specifiers of the static, re-export, side-effect and dynamic imports of a TypeScript source. */
export function importsOf(source: string): string[] {
  // Comments may quote imports (JSDoc examples, commented-out code): they are no dependency.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const patterns = [
    /^\s*(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]+?\s+from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1]));
}

/** True for test code: `*_test.ts` files and `_`-prefixed helpers that only tests import. */
export function isTestCode(path: string): boolean {
  const base = posix.basename(path);
  return base.endsWith("_test.ts") || base.startsWith("_");
}

/**
 * Every import that breaks the layering, as `file: imports specifier (why)`. `importMap` is deno.json's `imports`:
 * a bare specifier counts as an npm package when it maps to `npm:`.
 */
export function violations(files: SourceFile[], importMap: Record<string, string> = {}): string[] {
  const out: string[] = [];
  for (const file of files) {
    const dir = file.path.split("/")[0];
    if (dir !== "runtime" && dir !== "templates") continue;
    for (const spec of importsOf(file.source)) {
      const target = spec.startsWith(".")
        ? posix.normalize(posix.join(posix.dirname(file.path), spec))
        : undefined;
      const top = target?.split("/")[0];
      if (dir === "runtime" && (top === "reconcilers" || top === "api" || top === "templates")) {
        out.push(`${file.path}: imports ${spec} (the runtime is generic: no ${top}/)`);
      }
      if (dir === "templates" && !isTestCode(file.path)) {
        const npm = spec.startsWith("npm:") || importMap[spec]?.startsWith("npm:");
        if (!(top === "api" || top === "templates" || (!target && npm))) {
          out.push(`${file.path}: imports ${spec} (templates import only api/, templates/ and npm packages)`);
        }
      }
    }
  }
  return out;
}

/** Every .ts file under `root` but dependencies and build output, with paths relative to `root`. */
export async function sourceFiles(root: string): Promise<SourceFile[]> {
  const skip = new Set(["node_modules", "dist", ".git"]);
  const out: SourceFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const entry of Deno.readDir(posix.join(root, rel))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory && !skip.has(entry.name)) await walk(path);
      else if (entry.isFile && path.endsWith(".ts")) {
        out.push({ path, source: await Deno.readTextFile(posix.join(root, path)) });
      }
    }
  };
  await walk("");
  return out;
}

/** Product code: what ships in the operator (not tests, test helpers, tools or benchmarks). */
export function isProductCode(path: string): boolean {
  const dir = path.split("/")[0];
  return (path === "main.ts" ||
    ["api", "cli", "reconcilers", "runtime", "storage", "templates"].includes(dir)) &&
    !isTestCode(path) && path !== "templates/testing.ts";
}

/** Product files longer than `max` lines, as `file: N lines`. */
export function overlongFiles(files: SourceFile[], max = 300): string[] {
  return files
    .filter((f) => isProductCode(f.path))
    .map((f) => ({ path: f.path, lines: f.source.split("\n").length - (f.source.endsWith("\n") ? 1 : 0) }))
    .filter((f) => f.lines > max)
    .map((f) => `${f.path}: ${f.lines} lines (at most ${max})`);
}

/**
 * Words of the API spelled out as string literals in product code outside api/: a condition type, reason or
 * phase (`words`), or anything under the API group (`otus.homework…`: annotations, the finalizer, the version).
 * They must come from the constants in api/, so that a rename is one change. `allowed` holds words of other
 * vocabularies that happen to be spelled the same (Kubernetes' Job condition `Failed`, the Job report's results).
 */
export function redefinedWords(files: SourceFile[], words: Set<string>, allowed: Set<string>): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!isProductCode(file.path) || file.path.startsWith("api/")) continue;
    const code = file.source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(/(["'`])([^"'`\n]*)\1/g)) {
      const text = m[2];
      if ((words.has(text) && !allowed.has(text)) || text.startsWith("otus.homework")) {
        out.push(`${file.path}: "${text}" (use the constant in api/)`);
      }
    }
  }
  return out;
}

/**
 * Calls into ICU (`localeCompare`, `toLocale…String`, `Intl.…`) in product code. The operator sorts only to be
 * deterministic (runtime/order.ts); ICU's collator and its data pages cost the process about 4 MB of RSS the first
 * time one of these runs.
 */
export function icuCalls(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (!isProductCode(file.path)) continue;
    const code = file.source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(/\.localeCompare\(|\.toLocale\w*String\(|\bIntl\.\w+/g)) {
      out.push(`${file.path}: ${m[0]} (ICU: use byCodeUnits of runtime/order.ts)`);
    }
  }
  return out;
}

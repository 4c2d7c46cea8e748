/**
 * `deno task compile`: one self-contained executable `dist/mysql-operator` with the operator's permissions baked
 * in (cli/permissions.ts OPERATOR_PERMISSIONS: network, environment, reading files, uid/hostname; no write, no
 * subprocess, no FFI), so the binary behaves exactly like `deno run <those flags> main.ts`.
 *
 * `deno compile` appends the program to denort, Deno's runtime for compiled executables, which it downloads from
 * Deno's CDN. Where the CDN is reachable `deno task compile` just works. These machines cannot reach it, and no
 * npm package ships denort (the npm package `deno` ships the full CLI only, which ignores an appended program),
 * so here the runtime is given with DENORT_BIN (which `deno compile` honours); when the download fails, the
 * message says how.
 *
 * Usage: `[DENORT_BIN=/path/to/denort] deno task compile [--output PATH] [--target TRIPLE]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { OPERATOR_FLAGS, OPERATOR_PERMISSIONS } from "../cli/permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Where `deno task compile` writes the executable. */
export const DEFAULT_OUTPUT = `${ROOT}dist/mysql-operator`;

/** The entry point the executable runs (the same file as `deno task start` and the tests). */
export const ENTRY_POINT = `${ROOT}main.ts`;

/**
 * Left out of the executable: the pinned Deno itself (node_modules/deno and its platform package, ~95 MB each),
 * which the project installs from npm as a tool, not as a dependency of the operator.
 */
export const EXCLUDED = ["node_modules/deno", "node_modules/@deno"];

/** The target triple of this machine, as Deno names its release archives. */
export function hostTarget(): string {
  return Deno.build.target;
}

/**
 * Arguments of `deno compile` for the operator. The permission flags are exactly OPERATOR_PERMISSIONS, followed
 * by the V8 flags (OPERATOR_FLAGS: both are baked into the executable);
 * `--no-prompt` makes a missing permission an error instead of a question nobody can answer in a pod.
 */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    "--no-prompt",
    ...OPERATOR_FLAGS,
    ...EXCLUDED.flatMap((p) => ["--exclude", `${ROOT}${p}`]),
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    ENTRY_POINT,
  ];
}

/** The message when DENORT_BIN is missing or wrong: what denort is, and how to get it. */
export function denortHelp(problem: string, target = hostTarget()): string {
  const v = Deno.version.deno;
  return [
    `compile: ${problem}`,
    "",
    "`deno compile` needs denort, the Deno runtime of compiled executables, and downloads it from Deno's CDN",
    "(dl.deno.land), which this machine could not reach. No npm package ships denort: the npm package `deno` has",
    "only the full CLI, which cannot stand in for it. Get the runtime of the same Deno version on a machine",
    "that can reach the CDN, copy it here, and point DENORT_BIN at it:",
    "",
    `  curl -fLO https://dl.deno.land/release/v${v}/denort-${target}.zip`,
    `  unzip denort-${target}.zip        # gives ./denort`,
    "  DENORT_BIN=$PWD/denort deno task compile",
    "",
    "The Dockerfile does exactly this in its build stage.",
  ].join("\n");
}

/** Checks DENORT_BIN; returns the problem, or undefined when it names an executable file. */
export function checkDenort(path: string | undefined): string | undefined {
  if (!path) return "DENORT_BIN is not set";
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    return `DENORT_BIN=${path}: ${(err as Error).message}`;
  }
  if (!info.isFile) return `DENORT_BIN=${path} is not a file`;
  if (info.mode !== null && (info.mode & 0o111) === 0) return `DENORT_BIN=${path} is not executable`;
  return undefined;
}

/** Compiles; resolves with the exit code. */
export async function compile(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { output: { type: "string" }, target: { type: "string" } },
    strict: true,
  });
  const denort = Deno.env.get("DENORT_BIN");
  const problem = denort === undefined ? undefined : checkDenort(denort);
  if (problem) {
    console.error(denortHelp(problem, values.target));
    return 1;
  }
  const output = values.output ?? DEFAULT_OUTPUT;
  await Deno.mkdir(output.slice(0, output.lastIndexOf("/")) || ".", { recursive: true });
  const args = compileArgs(output, values.target);
  console.error(
    `compile: deno ${args.join(" ")}\ncompile: runtime ${
      denort ? `DENORT_BIN=${denort}` : "from Deno's CDN"
    }`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: denort ? { DENORT_BIN: denort } : {},
    stdin: "null",
    stderr: "piped",
  }).spawn();
  // deno compile's own output goes through as it comes; its tail tells whether the download failed.
  let tail = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    tail = (tail + dec.decode(chunk, { stream: true })).slice(-4000);
  }
  const status = await child.status;
  if (!status.success) {
    if (!denort && /dl\.deno\.land|denort/.test(tail)) {
      console.error(
        "\n" + denortHelp("DENORT_BIN is not set and denort could not be downloaded", values.target),
      );
    }
    return status.code || 1;
  }
  const size = (await Deno.stat(output)).size;
  console.error(
    `compile: wrote ${output} (${(size / 2 ** 20).toFixed(1)} MiB), permissions ${
      OPERATOR_PERMISSIONS.join(" ")
    }`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await compile(Deno.args));

/**
 * Runs the operator for integration tests exactly as users run it: the same entry point (main.ts) with the same
 * permission flags as the compiled binary, as a separate process. Logs go to a file the test can read.
 *
 * @module
 */
import { OPERATOR_ENV, OPERATOR_FLAGS } from "../cli/permissions.ts";
import { ensureJemalloc } from "../tools/allocator.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A running operator process. */
export interface OperatorProcess extends AsyncDisposable {
  /** Port of /healthz, /readyz, /metrics. */
  port: number;
  /** Path of the log file (JSON lines). */
  logFile: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** SIGTERM and wait (graceful). Returns the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<void>;
  /** The log so far. */
  logs(): Promise<string>;
  /** GET a path of the HTTP endpoint. */
  http(path: string): Promise<{ status: number; body: string }>;
}

/**
 * The port the operator says it bound (`HTTP endpoints on HOST:PORT`, a JSON log line), or undefined while it has
 * not said so yet.
 */
export function reportedHttpPort(log: string): number | undefined {
  for (const line of log.split("\n")) {
    if (!line.includes("HTTP endpoints on")) continue;
    try {
      const addr = (JSON.parse(line) as { addr?: string }).addr ?? "";
      const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
      if (Number.isInteger(port) && port > 0) return port;
    } catch { /* not a JSON line */ }
  }
  return undefined;
}

/** Path of the Deno running the tests (the pinned one). */
export const DENO = Deno.execPath();

/** Where {@link startOperatorProcess} takes the operator from. */
export interface OperatorSource {
  /** Another checkout of the project (e.g. `git archive` of an older commit, for a benchmark's before/after). */
  root?: string;
  /** Prefix of the log file's name. */
  logPrefix?: string;
}

/**
 * Starts `main.ts run` with the operator's permissions. `args` come after `run`; `--http-addr 127.0.0.1:0` is set
 * here: the operator picks a free port and says which (no port is picked here and released for it to take).
 * Waits until /healthz answers on that port.
 */
export async function startOperatorProcess(
  args: string[],
  env: Record<string, string> = {},
  source: OperatorSource = {},
): Promise<OperatorProcess> {
  const root = source.root ? (source.root.endsWith("/") ? source.root : `${source.root}/`) : ROOT;
  await ensureJemalloc(); // the allocator OPERATOR_ENV preloads, as in the image
  const logFile = await Deno.makeTempFile({ prefix: source.logPrefix ?? "mysql-operator-", suffix: ".log" });
  const out = await Deno.open(logFile, { write: true, append: true });
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      ...OPERATOR_FLAGS,
      `${root}main.ts`,
      "run",
      "--http-addr",
      "127.0.0.1:0",
      ...args,
    ],
    cwd: root,
    env: { NO_COLOR: "1", ...OPERATOR_ENV, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one file, so a test failure can show the whole story.
  const pump = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const chunk of s) await out.write(chunk);
  })).finally(() => out.close());
  let port = 0;
  const http = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const deadline = performance.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`the operator exited at start:\n${await Deno.readTextFile(logFile)}`);
    port ||= reportedHttpPort(await Deno.readTextFile(logFile)) ?? 0;
    try {
      if (port && (await http("/healthz")).status === 200) break;
    } catch { /* not listening yet */ }
    if (performance.now() > deadline) {
      throw new Error(`the operator did not serve /healthz:\n${await Deno.readTextFile(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const s = await status;
    await pump;
    return s.code;
  };
  const kill = async () => {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pump;
  };
  return {
    port,
    logFile,
    child,
    stop,
    kill,
    logs: () => Deno.readTextFile(logFile),
    http,
    [Symbol.asyncDispose]: async () => {
      await kill();
    },
  };
}

/**
 * Runs `fn` with a fresh namespace of `context` and an operator process serving only that namespace (so tests
 * never share state); shows the operator's log when `fn` fails, and cleans up.
 */
export async function withOperator(
  opts: { kubeconfig: string; context: string; prefix: string; args?: string[] },
  fn: (ns: string, op: () => OperatorProcess, restart: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const { freshNamespace } = await import("./_clusters.ts");
  const ns = await freshNamespace(opts.context, opts.prefix);
  const args = [
    "--kubeconfig",
    opts.kubeconfig,
    "--context",
    opts.context,
    "--namespace",
    ns.name,
    ...opts.args ?? [],
  ];
  let op = await startOperatorProcess(args);
  const restart = async () => {
    await op.kill();
    op = await startOperatorProcess(args);
  };
  try {
    await fn(ns.name, () => op, restart);
  } catch (err) {
    console.error(`--- operator log (${opts.prefix}) ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    await op.stop();
    await ns.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
  }
}

/** What a command run to its end printed, and its exit status. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts ...args` to its end exactly as the shipped binary would (same permission flags, no prompts). */
export async function mainProcess(...args: string[]): Promise<CommandResult> {
  const { code, stdout, stderr } = await mainProcessKilledAt(undefined, ...args);
  return { code, stdout, stderr };
}

/**
 * Runs `main.ts ...args` as the shipped binary would (same permission flags, no prompts) until its output has a
 * line matching `until`, then kills it outright (SIGKILL: no clean-up of its own); to its end when `until` is not
 * given or never printed. `killed` says whether it was.
 */
export async function mainProcessKilledAt(
  until: RegExp | undefined,
  ...args: string[]
): Promise<CommandResult & { killed: boolean }> {
  const child = new Deno.Command(DENO, {
    args: ["run", "--no-prompt", ...OPERATOR_FLAGS, `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "", killed = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    const from = stdout.lastIndexOf("\n") + 1;
    stdout += chunk;
    const lines = stdout.slice(from).split("\n").slice(0, -1); // the complete lines this chunk ended
    if (!killed && until && lines.some((l) => until.test(l))) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr, killed };
}

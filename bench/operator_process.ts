/**
 * Starts the operator for the benchmark as users run it: `main.ts run` with the shipped permission flags, as its
 * own process, logs to a file. `root` may name another checkout of the project (e.g. `git archive` of an older
 * commit), which is how a change's before/after numbers are taken on the same clusters.
 *
 * @module
 */
import { OPERATOR_PERMISSIONS } from "../cli/permissions.ts";
import { freePort } from "../tests/_operator.ts";

/** A running operator process. */
export interface OperatorProcess {
  port: number;
  logFile: string;
  child: Deno.ChildProcess;
  /** SIGTERM and wait. */
  stop(): Promise<number>;
  logs(): Promise<string>;
  http(path: string): Promise<{ status: number; body: string }>;
}

/** The project's root (this checkout). */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/**
 * Starts `<root>/main.ts run --http-addr 127.0.0.1:<free> ...args` (extra environment `env`, e.g. DENO_V8_FLAGS)
 * and waits until /healthz answers.
 */
export async function startOperator(
  args: string[],
  root = ROOT,
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
  const port = freePort();
  const logFile = await Deno.makeTempFile({ prefix: "mysql-operator-bench-", suffix: ".log" });
  const out = await Deno.open(logFile, { write: true, append: true });
  const dir = root.endsWith("/") ? root : `${root}/`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...OPERATOR_PERMISSIONS,
      `${dir}main.ts`,
      "run",
      "--http-addr",
      `127.0.0.1:${port}`,
      ...args,
    ],
    cwd: dir,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pump = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const chunk of s) await out.write(chunk);
  })).finally(() => out.close());
  const http = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the operator exited at start:\n${await Deno.readTextFile(logFile)}`);
    try {
      if ((await http("/healthz")).status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      throw new Error(`the operator did not serve /healthz:\n${await Deno.readTextFile(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    logFile,
    child,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await pump;
      return s.code;
    },
    logs: () => Deno.readTextFile(logFile),
    http,
  };
}

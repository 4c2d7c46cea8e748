/**
 * Runs a command and returns its stdout; a failure throws with the command's stderr, so callers see why.
 *
 * @module
 */

/** Options of {@link run}. */
export interface RunOptions {
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  /** Text written to the command's stdin. */
  stdin?: string;
  /** Let stderr through to this process's stderr (progress of long commands) instead of capturing it. */
  inheritStderr?: boolean;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /** Kill the command when this signal aborts (the rejection carries the abort reason). */
  signal?: AbortSignal;
}

/** A command exited non-zero (or could not start). */
export class CommandError extends Error {
  /** Exit code (-1 when the command could not start or timed out). */
  readonly code: number;
  /** Captured stderr (empty when it was inherited). */
  readonly stderr: string;
  /** Captured stdout. */
  readonly stdout: string;

  /** Builds the error from the command line and its outcome. */
  constructor(cmd: string, args: string[], code: number, stdout: string, stderr: string, why?: string) {
    const line = [cmd, ...args].join(" ");
    const detail = (stderr.trim() || stdout.trim()).split("\n").slice(-25).join("\n");
    super(`${why ?? `exit code ${code}`}: ${line}${detail ? `\n${detail}` : ""}`);
    this.name = "CommandError";
    this.code = code;
    this.stderr = stderr;
    this.stdout = stdout;
  }
}

/** Runs `cmd args...`; resolves to stdout, rejects with a {@link CommandError}. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      env: opts.env,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: opts.inheritStderr ? "inherit" : "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CommandError(cmd, args, -1, "", "", `command not found (${cmd})`);
    }
    throw e;
  }
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    kill();
  }, opts.timeoutMs);
  opts.signal?.addEventListener("abort", kill, { once: true });
  if (opts.signal?.aborted) kill();
  try {
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    const stderr = opts.inheritStderr ? "" : dec.decode(out.stderr);
    if (opts.signal?.aborted) {
      throw opts.signal.reason instanceof Error
        ? opts.signal.reason
        : new CommandError(cmd, args, -1, stdout, stderr, "aborted");
    }
    if (timedOut) {
      throw new CommandError(cmd, args, -1, stdout, stderr, `timed out after ${opts.timeoutMs} ms`);
    }
    if (!out.success) throw new CommandError(cmd, args, out.code, stdout, stderr);
    return stdout;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    opts.signal?.removeEventListener("abort", kill);
  }
}

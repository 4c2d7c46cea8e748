/**
 * Detached daemons with pid and log files: started in their own session so they outlive the `deno task` that
 * started them (and its Ctrl-C), found again through the pid file, and stopped only when the pid still runs
 * the expected binary (a stale pid file must never make us signal an unrelated process).
 *
 * @module
 */
import { exists } from "./host.ts";

/** A daemon: its binary, and where its pid and log files live. */
export interface Daemon {
  /** Short name for messages. */
  name: string;
  /** Absolute path of the binary. */
  bin: string;
  pidFile: string;
  logFile: string;
}

/** The pid of the daemon when its pid file names a live process running `d.bin`. */
export async function daemonPid(d: Daemon): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(d.pidFile)).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const argv0 = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0")[0];
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // A zombie has exited already; the binary must match (pid reuse).
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return undefined;
    return argv0 === d.bin ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `d.bin args` detached (setsid, stdin from /dev/null, stdout and stderr appended to the log file) and
 * writes its pid file. Returns the pid. `env` is added to this process's environment.
 */
export async function startDaemon(
  d: Daemon,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  if (!(await exists(d.bin))) throw new Error(`${d.name}: ${d.bin} does not exist`);
  await Deno.remove(d.pidFile).catch(() => {});
  await Deno.writeTextFile(d.logFile, `--- ${new Date().toISOString()} start ${d.bin} ${args.join(" ")}\n`, {
    append: true,
  });
  // sh writes its own pid, then execs into the daemon (same pid); setsid puts it in a new session first.
  const script = 'echo $$ > "$PIDFILE"; exec "$@" >>"$LOGFILE" 2>&1 </dev/null';
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", script, "sh", d.bin, ...args],
    env: { ...env, PIDFILE: d.pidFile, LOGFILE: d.logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    const pid = await daemonPid(d);
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${d.name} did not start: see ${d.logFile}\n${await logTail(d.logFile)}`);
}

/** The last lines of a log file, for error messages. */
export async function logTail(path: string, lines = 15): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Stops the daemon: SIGTERM, then SIGKILL after `graceMs`. Returns whether it was running. */
export async function stopDaemon(d: Daemon, graceMs = 10_000): Promise<boolean> {
  const pid = await daemonPid(d);
  if (pid === undefined) {
    await Deno.remove(d.pidFile).catch(() => {});
    return false;
  }
  await signalAndWait(pid, graceMs);
  await Deno.remove(d.pidFile).catch(() => {});
  return true;
}

/** SIGTERM `pid`, wait until it is gone, SIGKILL after `graceMs`. */
export async function signalAndWait(pid: number, graceMs: number): Promise<void> {
  const alive = async () => {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch {
      return false;
    }
  };
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = performance.now() + graceMs;
  while (await alive()) {
    if (performance.now() > deadline) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
      const hard = performance.now() + 5000;
      while (await alive() && performance.now() < hard) await new Promise((r) => setTimeout(r, 50));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Host helpers for the real node: running commands, installing the Debian packages it needs, and a cheap
 * support probe that explains why a machine cannot run it.
 *
 * @module
 */
import { withLock } from "../cluster/lock.ts";

/** Result of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Text written to the command's standard input. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** When false, a non-zero exit is returned instead of thrown. Default true. */
  check?: boolean;
}

/** Runs a command to completion; throws (with its stderr) on a non-zero exit unless `check: false`. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      env: opts.env,
      cwd: opts.cwd,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (opts.check === false && e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd}: not found` };
    }
    throw new Error(`cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
  }
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (opts.check !== false && res.code !== 0) {
    const tail = (res.stderr || res.stdout).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited ${res.code}:\n${tail}`);
  }
  return res;
}

/** True when `name` resolves on PATH (or is an existing absolute path). */
export async function which(name: string): Promise<string | undefined> {
  const r = await run("sh", ["-c", 'command -v "$1"', "sh", name], { check: false });
  const p = r.stdout.trim();
  return r.code === 0 && p !== "" ? p : undefined;
}

/** Returns true when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A Debian package and a file that proves it is installed. */
interface HostPackage {
  pkg: string;
  file: string;
}

/** What the real node needs on the host (binaries are probed by path: PATH may lack /usr/sbin). */
export const REAL_NODE_PACKAGES: readonly HostPackage[] = [
  { pkg: "containerd", file: "/usr/bin/containerd" },
  { pkg: "runc", file: "/usr/sbin/runc" },
  { pkg: "containernetworking-plugins", file: "/usr/lib/cni/bridge" },
  { pkg: "iptables", file: "/usr/sbin/iptables" },
  { pkg: "mariadb-client", file: "/usr/bin/mariadb" },
  { pkg: "iproute2", file: "/usr/bin/ip" },
  { pkg: "openssl", file: "/usr/bin/openssl" },
];

/** What building the images needs. */
export const IMAGE_PACKAGES: readonly HostPackage[] = [
  { pkg: "debootstrap", file: "/usr/sbin/debootstrap" },
  { pkg: "gcc", file: "/usr/bin/gcc" },
  { pkg: "libc6-dev", file: "/usr/lib/x86_64-linux-gnu/libc.a" },
];

let aptUpdated = false;

/** Options of {@linkcode aptGet} and {@linkcode ensurePackages} (tests put a stand-in apt-get and lock in place). */
export interface AptOptions {
  /** The apt-get program (default `apt-get` on PATH). */
  aptGet?: string;
  /** The lock file our apt runs take turns on (default {@linkcode APT_LOCK}). */
  lockPath?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for the lock (ours and apt's own). Default 10 minutes. */
  waitMs?: number;
}

/**
 * The lock this project's apt runs take turns on, across processes: on a fresh machine several test files
 * install their packages at the same moment, and `apt-get update` does not wait for the lists lock
 * (`DPkg::Lock::Timeout` covers only dpkg's): it fails at once, and the checks that needed the package skip.
 */
export const APT_LOCK = `${Deno.env.get("TMPDIR") ?? "/tmp"}/mysql-operator-apt.lock`;

const APT_LOCK_HELD = /Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock/;

/**
 * Runs apt-get under {@linkcode APT_LOCK}, retried while an apt outside this project (unattended upgrades) holds
 * one of apt's own locks. Throws the last failure otherwise.
 */
export async function aptGet(args: string[], opts: AptOptions = {}): Promise<RunResult> {
  const waitMs = opts.waitMs ?? 10 * 60_000;
  const deadline = performance.now() + waitMs;
  const env = { DEBIAN_FRONTEND: "noninteractive", ...opts.env };
  const args2 = ["-o", "DPkg::Lock::Timeout=300", ...args];
  return await withLock(opts.lockPath ?? APT_LOCK, async () => {
    for (;;) {
      const res = await run(opts.aptGet ?? "apt-get", args2, { env, check: false });
      const output = res.stderr + res.stdout;
      if (res.code === 0 || !APT_LOCK_HELD.test(output) || performance.now() > deadline) {
        if (res.code !== 0) {
          const tail = output.trim().split("\n").slice(-15).join("\n");
          throw new Error(`apt-get ${args2.join(" ")} exited ${res.code}:\n${tail}`);
        }
        return res;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, { purpose: `apt-get ${args.join(" ")}`, timeoutMs: waitMs });
}

/**
 * Installs the packages whose marker file is missing with apt-get (one `apt-get update` per process; see
 * {@linkcode aptGet} for how concurrent installs take turns). Throws a message naming the packages when that is
 * impossible.
 */
export async function ensurePackages(pkgs: readonly HostPackage[], opts: AptOptions = {}): Promise<void> {
  const missing = async () => {
    const out: string[] = [];
    for (const p of pkgs) if (!(await exists(p.file))) out.push(p.pkg);
    return out;
  };
  const first = await missing();
  if (first.length === 0) return;
  if (opts.aptGet === undefined) {
    if (Deno.uid() !== 0) {
      throw new Error(`missing packages ${first.join(", ")} and not root to install them`);
    }
    if (!(await which("apt-get"))) throw new Error(`missing packages ${first.join(", ")} and no apt-get`);
  }
  if (!aptUpdated) {
    await aptGet(["update", "-qq"], opts);
    aptUpdated = true;
  }
  // Another process may have installed them while this one waited for the lock.
  const still = await missing();
  if (still.length > 0) await aptGet(["install", "-y", "-qq", "--no-install-recommends", ...still], opts);
  for (const p of pkgs) {
    if (!(await exists(p.file))) throw new Error(`apt-get installed ${p.pkg} but ${p.file} is still missing`);
  }
}

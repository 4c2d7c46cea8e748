/**
 * A real MariaDB server for integration tests (no mocks): Debian's `mariadb-server` is installed with apt-get when
 * missing (root only), a fresh data directory is made with `mariadb-install-db`, and `mariadbd` listens on
 * 127.0.0.1 with a free TCP port and its own socket and pid file. Tests talk to it as root over the socket (unix
 * socket authentication, no password anywhere); the root account for TCP clients gets the given password, sent to
 * the server on stdin (never on a command line).
 *
 * @module
 */
import { aptGet } from "../tools/real_node/host.ts";

/** Whether the tests can run here, and if not, why (shown by the test file, which then ignores its tests). */
export type Availability = { ok: true } | { ok: false; reason: string };

/** Binaries the tests and the job scripts need. */
const REQUIRED = ["mariadbd", "mariadb-install-db", "mariadb", "mariadb-dump", "mariadb-admin"];

/** Where Debian puts the server binary (/usr/sbin is not always on PATH). */
const PATH_WITH_SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with optional stdin; never throws on a non-zero exit. */
export async function run(
  cmd: string,
  args: string[],
  opts: { stdin?: string | Uint8Array; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    clearEnv: opts.clearEnv,
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Absolute path of a program on PATH (including the sbin directories), or undefined. */
export async function which(name: string): Promise<string | undefined> {
  for (const dir of PATH_WITH_SBIN.split(":")) {
    const path = `${dir}/${name}`;
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function missing(names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) if (!(await which(n))) out.push(n);
  return out;
}

/**
 * Installs Debian packages with apt-get when some of `binaries` are missing. Only root can; anyone else gets a
 * reason to skip. Service start-up during the install is refused (policy-rc.d), so no stray server is left on 3306.
 */
export async function ensureDebianPackages(packages: string[], binaries: string[]): Promise<Availability> {
  const absent = await missing(binaries);
  if (absent.length === 0) return { ok: true };
  if (Deno.uid() !== 0) {
    return {
      ok: false,
      reason: `${absent.join(", ")} missing and not root: apt-get install ${packages.join(" ")}`,
    };
  }
  const policy = "/usr/sbin/policy-rc.d";
  let madePolicy = false;
  try {
    await Deno.stat(policy);
  } catch {
    await Deno.writeTextFile(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    madePolicy = true;
  }
  try {
    const env = { PATH: PATH_WITH_SBIN };
    const install = ["-y", "-q", "install", "--no-install-recommends", ...packages];
    let failure = "";
    try {
      await aptGet(install, { env });
    } catch {
      // An old or empty package list is the usual cause: refresh once and retry.
      try {
        await aptGet(["-q", "update"], { env });
        await aptGet(install, { env });
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
    }
    const still = await missing(binaries);
    if (still.length > 0) {
      return { ok: false, reason: `apt-get install ${packages.join(" ")} failed: ${failure.slice(-500)}` };
    }
    return { ok: true };
  } finally {
    if (madePolicy) await Deno.remove(policy).catch(() => {});
  }
}

/** Makes sure the MariaDB server and clients are installed (installing Debian's packages as root if needed). */
export function ensureMariaDB(): Promise<Availability> {
  return ensureDebianPackages(["mariadb-server", "mariadb-client"], REQUIRED);
}

/** Quotes a string as a MariaDB SQL literal (default sql_mode: backslash escapes are on). */
export function sqlString(value: string): string {
  return "'" + value.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\u0000", "\\0") + "'";
}

/** A running MariaDB server owned by the test. */
export interface MariaDBServer {
  /** TCP address the job scripts use. */
  host: string;
  port: number;
  /** Unix socket the tests use (root via unix_socket authentication). */
  socket: string;
  /** Process id of mariadbd. */
  pid: number;
  /** Temporary directory holding data, socket, pid file and error log. */
  dir: string;
  /** Runs SQL (given on stdin) as root over the socket; returns the batch output. Throws on failure. */
  sql(statements: string, database?: string): Promise<string>;
  /** Stops the server (TERM, then KILL after a deadline) and removes its directory. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): void;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function pollUntil(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
}

/**
 * Starts a fresh MariaDB server. `rootPassword` becomes the password of `root@127.0.0.1` (all privileges), the
 * account the job scripts use over TCP.
 */
export async function startMariaDB(opts: { rootPassword: string }): Promise<MariaDBServer> {
  const mariadbd = await which("mariadbd");
  const installDb = await which("mariadb-install-db");
  const client = await which("mariadb");
  const admin = await which("mariadb-admin");
  if (!mariadbd || !installDb || !client || !admin) throw new Error("MariaDB is not installed");
  const dir = await Deno.makeTempDir({ prefix: "mariadb-test-" });
  const dataDir = `${dir}/data`;
  const socket = `${dir}/mysqld.sock`;
  // Each server gets its own temporary directory: mariadbd removes every `#sql*` file in its tmpdir when it starts,
  // so with the shared /tmp a server started by a parallel test file deleted this bootstrap's temporary tables
  // ("Could not remove temporary table ... error: 2", CI run of 1252abc).
  const tmpDir = `${dir}/tmp`;
  await Deno.mkdir(tmpDir);
  const init = await run(installDb, [
    "--no-defaults",
    `--datadir=${dataDir}`,
    "--user=root",
    "--auth-root-authentication-method=socket",
    "--skip-test-db",
  ], { env: { PATH: PATH_WITH_SBIN, TMPDIR: tmpDir } });
  if (init.code !== 0) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`mariadb-install-db failed: ${init.stderr}\n${init.stdout}`);
  }

  // A free port can be taken between the probe and the bind: try a few ports.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const proc = new Deno.Command(mariadbd, {
      args: [
        "--no-defaults",
        "--user=root",
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--tmpdir=${tmpDir}`,
        `--pid-file=${dir}/mysqld.pid`,
        `--log-error=${dir}/error.log`,
        "--bind-address=127.0.0.1",
        `--port=${port}`,
        "--skip-name-resolve",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=128M",
        "--innodb-log-file-size=64M",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--performance-schema=0",
        "--max-allowed-packet=64M",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited = false;
    proc.status.then(() => exited = true);
    try {
      await pollUntil("mariadbd to accept connections", 60_000, async () => {
        if (exited) throw new Error("mariadbd exited");
        const ping = await run(admin, ["--no-defaults", `--socket=${socket}`, "-uroot", "ping"]);
        return ping.code === 0;
      });
    } catch (err) {
      if (!exited) proc.kill("SIGKILL");
      await proc.status;
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
      if (log.includes("Address already in use") && attempt < 4) {
        await Deno.remove(`${dir}/error.log`).catch(() => {});
        continue;
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`mariadbd did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
    }

    const sql = async (statements: string, database?: string): Promise<string> => {
      const args = [
        "--no-defaults",
        `--socket=${socket}`,
        "-uroot",
        "--batch",
        "--skip-column-names",
        "--default-character-set=utf8mb4",
      ];
      if (database) args.push(database);
      const res = await run(client, args, { stdin: statements });
      if (res.code !== 0) throw new Error(`SQL failed (${res.code}): ${res.stderr}`);
      return res.stdout;
    };
    // The password travels on stdin only. Two accounts: scripts connect over TCP from 127.0.0.1.
    const pw = sqlString(opts.rootPassword);
    await sql(
      `CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY ${pw};\n` +
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n` +
        `DELETE FROM mysql.global_priv WHERE User = '';\nFLUSH PRIVILEGES;\n`,
    );

    let stopped = false;
    const server: MariaDBServer = {
      host: "127.0.0.1",
      port,
      socket,
      pid: proc.pid,
      dir,
      sql,
      kill() {
        if (!exited) proc.kill("SIGKILL");
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (!exited) proc.kill("SIGTERM");
        const timer = setTimeout(() => {
          if (!exited) proc.kill("SIGKILL");
        }, 30_000);
        await proc.status;
        clearTimeout(timer);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
    return server;
  }
  throw new Error("unreachable");
}

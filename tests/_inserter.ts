/**
 * Test helper: a database client that inserts rows continuously and records every INSERT the server acknowledged,
 * as an application would. One `mariadb` client process holds one connection and sends one autocommit INSERT at a
 * time, each followed by `SELECT 'ack', n`: the client stops at the first error (batch mode), so an `ack n` line
 * means row n was committed and acknowledged. When the connection fails (killed, refused, read-only) the client
 * exits and a new one connects, like an application's pool would, until {@link Inserter.stop}.
 *
 * The password goes to a mode-600 option file (never a command line); only `[A-Za-z0-9]` passwords are accepted,
 * so no option-file quoting is needed here.
 *
 * @example
 * ```ts
 * const w = startInserter({ name: "app", host, port, user: "app", password: "pw", database: "db", table: "t" });
 * await waitFor("some rows", () => w.acked.length >= 10);
 * const stats = await w.stop();
 * ```
 *
 * @module
 */

/** Where and as whom to insert. The table needs columns `writer VARCHAR(..)` and `n INT` (primary key both). */
export interface InserterOptions {
  /** Written into column `writer`; [A-Za-z0-9_-] only. */
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  table: string;
}

/** What a stopped inserter saw. */
export interface InserterStats {
  /** Row numbers whose INSERT was acknowledged. */
  acked: number[];
  /** Row numbers sent whose INSERT was not acknowledged (the connection failed first). */
  unacked: number[];
  /** Number of client processes (connections) used. */
  connections: number;
  /** The last error lines of failed connections (newest last, at most 20). */
  errors: string[];
}

/** A running inserter. */
export interface Inserter {
  /** Acknowledged row numbers so far, with the time (ms since epoch) each was acknowledged. */
  readonly acked: Array<{ n: number; at: number }>;
  /** The last error lines of failed connections so far (newest last, at most 20). */
  readonly errors: readonly string[];
  /** Stops inserting (kills the client in flight) and returns what was seen. */
  stop(): Promise<InserterStats>;
}

/** Time between a failed connection and the next (a client reconnecting, not a test waiting). */
const RECONNECT_MS = 50;

/** Starts inserting rows 1, 2, 3, ... as `opts.user`. */
export function startInserter(opts: InserterOptions): Inserter {
  if (!/^[A-Za-z0-9]+$/.test(opts.password)) throw new Error("inserter passwords must be [A-Za-z0-9]+");
  if (!/^[A-Za-z0-9_-]+$/.test(opts.name + opts.database + opts.table)) throw new Error("unsafe name");
  const acked: Array<{ n: number; at: number }> = [];
  const unacked: number[] = [];
  const errors: string[] = [];
  let connections = 0;
  let stopped = false;
  let child: Deno.ChildProcess | undefined;
  const cnf = Deno.makeTempFileSync({ prefix: "inserter-", suffix: ".cnf" });
  Deno.chmodSync(cnf, 0o600);
  Deno.writeTextFileSync(cnf, `[client]\nuser=${opts.user}\npassword=${opts.password}\n`);

  async function oneConnection(next: () => number): Promise<void> {
    connections++;
    child = new Deno.Command("mariadb", {
      args: [
        `--defaults-extra-file=${cnf}`,
        "--protocol=TCP",
        `--host=${opts.host}`,
        `--port=${opts.port}`,
        "--connect-timeout=5",
        "--batch",
        "--skip-column-names",
        "--unbuffered",
        opts.database,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const proc = child;
    const writer = proc.stdin.getWriter();
    const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stderr = new Response(proc.stderr).text();
    let buffered = "";
    const readLine = async (): Promise<string | undefined> => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) return undefined;
        buffered += value;
      }
      const i = buffered.indexOf("\n");
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      return line;
    };
    try {
      while (!stopped) {
        const n = next();
        const sql =
          `INSERT INTO \`${opts.table}\` (writer, n) VALUES ('${opts.name}', ${n}); SELECT 'ack', ${n};\n`;
        try {
          await writer.write(new TextEncoder().encode(sql));
        } catch {
          unacked.push(n);
          break; // the client exited
        }
        const line = await readLine();
        if (line === `ack\t${n}`) acked.push({ n, at: Date.now() });
        else {
          unacked.push(n);
          break;
        }
      }
    } finally {
      try {
        proc.kill("SIGKILL");
      } catch {
        // exited already
      }
      await proc.status;
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      const err = (await stderr).trim().split("\n").at(-1);
      if (err) {
        errors.push(err);
        if (errors.length > 20) errors.shift();
      }
    }
  }

  let counter = 0;
  const loop = (async () => {
    while (!stopped) {
      await oneConnection(() => ++counter);
      if (!stopped) await new Promise((r) => setTimeout(r, RECONNECT_MS));
    }
  })();

  return {
    acked,
    errors,
    async stop(): Promise<InserterStats> {
      stopped = true;
      try {
        child?.kill("SIGKILL");
      } catch {
        // exited already
      }
      await loop;
      await Deno.remove(cnf).catch(() => {});
      return { acked: acked.map((a) => a.n), unacked: [...unacked], connections, errors: [...errors] };
    },
  };
}

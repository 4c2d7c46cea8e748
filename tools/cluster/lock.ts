/**
 * A cross-process lock file: created with O_EXCL (`Deno.open({createNew: true})`), holding who owns it. A lock
 * whose owner process is gone (or that is older than `staleMs`) is broken, so a killed test run never blocks
 * the next one.
 *
 * @module
 */

/** What the lock file records about its holder. */
export interface LockInfo {
  /** Process id of the holder. */
  pid: number;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22); guards against pid reuse. */
  start: string;
  /** Host name of the holder (pids mean nothing on another host). */
  host: string;
  /** When the lock was taken (ms since the epoch). */
  createdAt: number;
  /** What the holder is doing, for the waiting message. */
  purpose: string;
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /** What this process is doing while holding the lock (shown to waiters). */
  purpose: string;
  /** Give up after waiting this long (default 20 minutes: a cold build takes ~6). */
  timeoutMs?: number;
  /** A lock older than this is stale whatever its holder (default 30 minutes). */
  staleMs?: number;
  /** Called once when the lock is busy, before waiting. */
  onWait?: (holder: LockInfo | undefined) => void;
}

const POLL_MS = 250;

function procStart(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; field 22 (starttime) is the 20th of them.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

function parse(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text);
    return typeof v?.pid === "number" && typeof v?.createdAt === "number" ? v as LockInfo : undefined;
  } catch {
    return undefined;
  }
}

function isStale(text: string, mtime: Date | null, staleMs: number): boolean {
  const info = parse(text);
  if (!info) {
    // Unparsable: either being written right now (give the writer a moment) or garbage.
    return mtime !== null && Date.now() - mtime.getTime() > 10_000;
  }
  if (Date.now() - info.createdAt > staleMs) return true;
  if (info.host !== hostname()) return false;
  return procStart(info.pid) !== info.start;
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
  try {
    await f.write(new TextEncoder().encode(token));
  } finally {
    f.close();
  }
  return true;
}

async function readLock(path: string): Promise<{ text: string; mtime: Date | null } | undefined> {
  try {
    const [text, st] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    return { text, mtime: st.mtime };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Moves a stale lock aside; if it turns out to be a fresh one that replaced it meanwhile, puts it back. */
async function breakLock(path: string, seen: string): Promise<void> {
  const aside = `${path}.stale-${crypto.randomUUID()}`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const moved = await Deno.readTextFile(aside).catch(() => seen);
  if (moved !== seen) {
    // Someone took the lock between our read and the rename: restore theirs (link fails if yet another exists).
    await Deno.link(aside, path).catch(() => {});
  }
  await Deno.remove(aside).catch(() => {});
}

/** Runs `fn` while holding the lock file at `path`; waits (polling) while another live process holds it. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  const staleMs = opts.staleMs ?? 30 * 60_000;
  const info: LockInfo = {
    pid: Deno.pid,
    start: procStart(Deno.pid) ?? "",
    host: hostname(),
    createdAt: Date.now(),
    purpose: opts.purpose,
  };
  // A unique token: several workers of one `deno test --parallel` process share a pid.
  const token = JSON.stringify({ ...info, id: crypto.randomUUID() });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!(await tryCreate(path, token))) {
    const cur = await readLock(path);
    if (cur === undefined) continue; // released between our attempts
    if (isStale(cur.text, cur.mtime, staleMs)) {
      await breakLock(path, cur.text);
      continue;
    }
    if (!told) {
      told = true;
      opts.onWait?.(parse(cur.text));
    }
    if (Date.now() > deadline) {
      const h = parse(cur.text);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for the lock ${path}` +
          (h ? ` held by pid ${h.pid} (${h.purpose}) since ${new Date(h.createdAt).toISOString()}` : ""),
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    const cur = await readLock(path).catch(() => undefined);
    if (cur?.text === token) await Deno.remove(path).catch(() => {});
  }
}

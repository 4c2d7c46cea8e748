/**
 * What /proc says about a process: resident memory (now and peak), CPU time, and its TCP connections to given
 * ports (the API servers). A sampler reads it periodically; connections are told apart by socket inode, so
 * "connections opened" counts every distinct connection seen (one living shorter than the sampling period can be
 * missed; pooled connections live for the whole run).
 *
 * @module
 */

/** A snapshot of one process. */
export interface ProcSnapshot {
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  peakRssBytes: number;
  /** User + system CPU time, seconds. */
  cpuSeconds: number;
  /** Of `rssBytes`: anonymous memory (heaps, stacks, the allocator's arenas), bytes (RssAnon). */
  rssAnonBytes: number;
  /** Of `rssBytes`: pages of mapped files (the Deno binary's code and data, libraries), bytes (RssFile). */
  rssFileBytes: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** Reads RSS, peak RSS and CPU time; undefined when the process is gone. */
export function readProc(pid: number): ProcSnapshot | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
    return {
      rssBytes: kb("VmRSS"),
      peakRssBytes: kb("VmHWM"),
      cpuSeconds,
      rssAnonBytes: kb("RssAnon"),
      rssFileBytes: kb("RssFile"),
    };
  } catch {
    return undefined;
  }
}

/** Socket inodes of a process's open file descriptors. */
export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m) out.add(m[1]);
      } catch { /* closed meanwhile */ }
    }
  } catch { /* process gone */ }
  return out;
}

/** Established TCP connections of the network namespace: inode -> remote port. */
export function tcpRemotePorts(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/net/${file}`);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const remotePort = parseInt(f[2].split(":")[1], 16);
      out.set(f[9], remotePort);
    }
  }
  return out;
}

/** Samples a process until stopped. */
export class ProcSampler {
  readonly pid: number;
  readonly #ports: Set<number>;
  readonly #seen = new Set<string>();
  #maxOpen = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: ProcSnapshot | undefined;
  #highest: ProcSnapshot | undefined;
  #maxRss = 0;

  /** Samples `pid` every `intervalMs`, counting its connections to `ports`. */
  constructor(pid: number, ports: Iterable<number>, intervalMs = 250) {
    this.pid = pid;
    this.#ports = new Set(ports);
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one sample now. */
  sample(): ProcSnapshot | undefined {
    const snap = readProc(this.pid);
    if (snap) {
      this.#last = snap;
      this.#highest = higherRss(this.#highest, snap);
      this.#maxRss = Math.max(this.#maxRss, snap.peakRssBytes, snap.rssBytes);
    }
    const inodes = socketInodes(this.pid);
    if (inodes.size) {
      const ports = tcpRemotePorts(this.pid);
      let open = 0;
      for (const inode of inodes) {
        const port = ports.get(inode);
        if (port !== undefined && this.#ports.has(port)) {
          open++;
          this.#seen.add(inode);
        }
      }
      this.#maxOpen = Math.max(this.#maxOpen, open);
    }
    return snap;
  }

  /** The latest snapshot. */
  get last(): ProcSnapshot | undefined {
    return this.#last;
  }

  /**
   * The sample with the highest RSS, with its anonymous and file-backed parts (the peak itself, VmHWM, can fall
   * between samples and comes without them).
   */
  get highest(): ProcSnapshot | undefined {
    return this.#highest;
  }

  /** Distinct connections to the ports seen so far. */
  get connectionsOpened(): number {
    return this.#seen.size;
  }

  /** Most connections open at once. */
  get maxOpenConnections(): number {
    return this.#maxOpen;
  }

  /** Highest peak RSS seen (bytes). */
  get peakRssBytes(): number {
    return this.#maxRss;
  }

  /** Stops sampling (one last sample first). */
  stop(): void {
    this.sample();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Of two snapshots, the one with the higher RSS (the earlier on a tie); either may be missing. */
export function higherRss(
  a: ProcSnapshot | undefined,
  b: ProcSnapshot | undefined,
): ProcSnapshot | undefined {
  if (!a || !b) return a ?? b;
  return b.rssBytes > a.rssBytes ? b : a;
}

/** Bytes as MB with one decimal. */
export function mb(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 1024 / 102.4) / 10;
}

/** The sampler's highest-RSS sample in MB, split into anonymous and file-backed pages; undefined before any. */
export function highestSample(s: ProcSampler): { rssMB: number; anonMB: number; fileMB: number } | undefined {
  const h = s.highest;
  if (!h) return undefined;
  return { rssMB: mb(h.rssBytes)!, anonMB: mb(h.rssAnonBytes)!, fileMB: mb(h.rssFileBytes)! };
}

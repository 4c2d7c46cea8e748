/**
 * Where the operator's resident memory goes: RSS split into the V8 heap (reserved), memory held outside the heap
 * for JS objects (external: ArrayBuffers, strings handed to Rust) and the rest (the runtime, TLS and HTTP buffers,
 * and what the allocator keeps after a burst). Read from the operator's own /metrics, sampled through the run,
 * so a change shows which of the three its bytes went to.
 *
 * @module
 */
import { mb as mbOrUndefined } from "./proc.ts";

/** Bytes as MB with one decimal, for a number that is always there. */
const mb = (bytes: number) => mbOrUndefined(bytes)!;

/** One reading, in bytes. */
export interface MemoryReading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** The split of one reading, in MB. */
export interface MemorySplit {
  rssMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
  externalMB: number;
  /** RSS less the reserved heap and external memory. */
  restMB: number;
}

/** The unlabelled memory series of an operator's /metrics text; undefined when one is missing. */
export function parseMemory(text: string): MemoryReading | undefined {
  const value = (name: string) => {
    const m = new RegExp(`^${name} ([0-9.e+]+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rss = value("process_resident_memory_bytes");
  const heapTotal = value("mysql_operator_heap_total_bytes");
  const heapUsed = value("mysql_operator_heap_used_bytes");
  const external = value("mysql_operator_external_memory_bytes");
  if ([rss, heapTotal, heapUsed, external].some((v) => v === undefined)) return undefined;
  return { rss: rss!, heapTotal: heapTotal!, heapUsed: heapUsed!, external: external! };
}

/** The split of a reading. */
export function splitOf(r: MemoryReading): MemorySplit {
  return {
    rssMB: mb(r.rss),
    heapTotalMB: mb(r.heapTotal),
    heapUsedMB: mb(r.heapUsed),
    externalMB: mb(r.external),
    restMB: mb(Math.max(0, r.rss - r.heapTotal - r.external)),
  };
}

/** What the sampler found: the split at the highest RSS read, and the highest of each part on its own. */
export interface MemoryReport {
  samples: number;
  atPeak: MemorySplit;
  max: MemorySplit;
}

/** Samples `/metrics` every `intervalMs` until stopped. */
export class MemorySampler {
  readonly #read: () => Promise<string>;
  readonly #timer: ReturnType<typeof setInterval>;
  #samples = 0;
  #peak?: MemoryReading;
  #max: MemoryReading = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
  #busy = false;

  /** Starts sampling through `read` (the operator's /metrics text). */
  constructor(read: () => Promise<string>, intervalMs = 1000) {
    this.#read = read;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one sample now (skipped while one is under way); a failed read is skipped. */
  async sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const r = parseMemory(await this.#read());
      if (!r) return;
      this.#samples++;
      if (!this.#peak || r.rss > this.#peak.rss) this.#peak = r;
      for (const k of ["rss", "heapTotal", "heapUsed", "external"] as const) {
        this.#max[k] = Math.max(this.#max[k], r[k]);
      }
    } catch {
      /* the process is busy or gone: the next sample */
    } finally {
      this.#busy = false;
    }
  }

  /** Stops sampling and reports; undefined when nothing was read. */
  stop(): MemoryReport | undefined {
    clearInterval(this.#timer);
    if (!this.#peak) return undefined;
    return { samples: this.#samples, atPeak: splitOf(this.#peak), max: splitOf(this.#max) };
  }
}

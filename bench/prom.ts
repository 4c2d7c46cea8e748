/**
 * Prometheus text parsing for the benchmark: the operator's /metrics and each API server's /metrics are scraped
 * before and after a phase, and the phase's numbers are differences of counters.
 *
 * @module
 */

/** One sample: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition format (comments and malformed lines are skipped). */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) {
      labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** Sums of `name` grouped by the value of label `by` (samples matching `match`). */
export function sumBy(
  samples: Sample[],
  name: string,
  by: string,
  match: Record<string, string> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const key = s.labels[by] ?? "";
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** `after - before` of each key (counters; keys missing before count from 0). */
export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Verbs that change state (everything else reads). */
export const WRITE_VERBS: ReadonlySet<string> = new Set([
  "create",
  "update",
  "patch",
  "apply",
  "delete",
  "deletecollection",
  "post",
  "put",
]);

/** Splits per-verb counts into reads and writes (verbs compared lower-case). */
export function readsWrites(byVerb: Record<string, number>): { reads: number; writes: number } {
  let reads = 0, writes = 0;
  for (const [verb, n] of Object.entries(byVerb)) {
    if (WRITE_VERBS.has(verb.toLowerCase())) writes += n;
    else reads += n;
  }
  return { reads, writes };
}

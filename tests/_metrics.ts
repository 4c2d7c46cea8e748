/**
 * Parsing the operator's /metrics (Prometheus text exposition format 0.0.4) in tests: every sample with its
 * labels, plus the HELP/TYPE metadata, strictly enough that a malformed line fails the test.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  samples: Sample[];
  /** `# TYPE` per metric family. */
  types: Map<string, string>;
  /** `# HELP` per metric family. */
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function unescape(v: string): string {
  return v.replace(/\\(n|"|\\)/g, (_, c) => (c === "n" ? "\n" : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m || m.index !== start) throw new Error(`malformed labels in metrics line: ${line}`);
    labels[m[1]] = unescape(m[2]);
  }
  return labels;
}

/** Parses the text; throws on a line that is neither a comment nor a valid sample. */
export function parseMetrics(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m) (m[1] === "HELP" ? out.help : out.types).set(m[2], m[3]);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line}`);
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`bad value in metrics line: ${line}`);
    out.samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  return out;
}

/** Samples of `name` whose labels include `match`. */
export function samples(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
  );
}

/** Sum of the values of `name` whose labels include `match` (0 when there is none). */
export function total(e: Exposition, name: string, match: Record<string, string> = {}): number {
  return samples(e, name, match).reduce((a, s) => a + s.value, 0);
}

/** Fetches and parses `url` (…/metrics). */
export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/plain")) throw new Error(`GET ${url}: content-type ${type}`);
  return parseMetrics(text);
}

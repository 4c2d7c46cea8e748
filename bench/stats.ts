/**
 * Latency statistics of a benchmark phase: percentiles (nearest rank, so every reported value is one that was
 * measured) and the summary the report prints.
 *
 * @module
 */

/** Summary of a set of latencies in milliseconds. */
export interface LatencySummary {
  /** How many values. */
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The nearest-rank percentile `p` (0..100) of `values`; NaN for an empty set. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** p50/p90/p99/max/mean of `values` (milliseconds, rounded). */
export function summarize(values: readonly number[]): LatencySummary {
  const round = (v: number) => Number.isNaN(v) ? NaN : Math.round(v);
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  return {
    count: values.length,
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p99: round(percentile(values, 99)),
    max: round(percentile(values, 100)),
    mean: round(mean),
  };
}

/** Seconds with one decimal, for tables. */
export function secs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "–";
  return (ms / 1000).toFixed(1);
}

/** A ratio with two decimals. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !b || Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return Math.round((a / b) * 100) / 100;
}

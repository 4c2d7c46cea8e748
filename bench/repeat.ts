/**
 * `deno task bench --repeat K`: the same benchmark K times, and per cluster set the min / median / max of each ratio,
 * so that one lucky or unlucky run no longer stands for the figure.
 *
 * @module
 */
import type { BenchResult } from "./report.ts";
import { ratio } from "./stats.ts";

/** The figures compared across repeats. */
export const REPEATED = ["total", "p50", "p99", "unstalled", "maxOverLowerBound"] as const;
type Figure = typeof REPEATED[number];

/** Min / median / max of one figure over the repeats (undefined where a run had none). */
export interface Spread {
  min?: number;
  median?: number;
  max?: number;
  values: Array<number | undefined>;
}

/** The spread of every figure, by cluster-set profile. */
export type RepeatSummary = Record<string, Record<Figure, Spread>>;

/** Min / median / max of the defined values. */
export function spread(values: Array<number | undefined>): Spread {
  const xs = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!xs.length) return { values };
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : Math.round(((xs[mid - 1] + xs[mid]) / 2) * 100) / 100;
  return { min: xs[0], median, max: xs[xs.length - 1], values };
}

/** One run's figures for one profile. */
function figures(r: BenchResult, profile: string): Record<Figure, number | undefined> {
  const p = r.profiles.find((x) => x.profile === profile);
  return {
    total: p?.ratio?.total,
    p50: p?.ratio?.p50,
    p99: p?.ratio?.p99,
    unstalled: p?.ratio?.unstalled,
    // The slowest object against the lower bound's whole run: the issue's "max latency within 1.2 x".
    maxOverLowerBound: ratio(p?.operator?.latency.max, p?.lowerBound?.totalMs),
  };
}

/** Summarises K results of the same parameters. */
export function summarizeRepeats(results: BenchResult[]): RepeatSummary {
  const profiles = [...new Set(results.flatMap((r) => r.profiles.map((p) => p.profile)))];
  return Object.fromEntries(profiles.map((profile) => {
    const runs = results.map((r) => figures(r, profile));
    return [profile, Object.fromEntries(REPEATED.map((f) => [f, spread(runs.map((x) => x[f]))]))];
  })) as RepeatSummary;
}

/** The summary as Markdown. */
export function repeatMarkdown(results: BenchResult[], dirs: string[]): string {
  const s = summarizeRepeats(results);
  const n = (x?: number) => x === undefined ? "–" : String(x);
  const out = [
    `# mysql-operator benchmark repeated ${results.length} times: ${results[0].params.clusters} clusters × ${
      results[0].params.objects
    } objects`,
    "",
    "Operator / lower bound per run (total, p50, p99; `unstalled`: of the slowest latencies, objects held up by " +
    "a control-plane stall left out; `maxOverLowerBound`: the operator's slowest object / the lower bound's total).",
    "",
    "| cluster set | figure | min | median | max | each run |",
    "|---|---|---|---|---|---|",
  ];
  for (const [profile, figs] of Object.entries(s)) {
    for (const f of REPEATED) {
      const x = figs[f];
      out.push(
        `| ${profile} | ${f} | ${n(x.min)} | ${n(x.median)} | ${n(x.max)} | ${x.values.map(n).join(", ")} |`,
      );
    }
  }
  const stalls = results.map((r) =>
    r.profiles.map((p) =>
      `${p.profile}: ${p.lowerBound?.timelines?.stalls.length ?? "–"} / ${
        p.operator?.timelines?.stalls.length ?? "–"
      }`
    ).join(", ")
  );
  out.push("", "Control-plane stalls per run (lower bound / operator): " + stalls.join("; "), "");
  const beyond = results.map((r, i) =>
    `run ${i + 1}: ` +
    r.profiles.map((p) =>
      `${p.profile}: ${
        p.beyond
          ? `over ${p.beyond.limitS} s: ${
            Object.entries(p.beyond.byOwner).map(([k, v]) => `${v} ${k}`).join(", ") || "none"
          }`
          : "–"
      }`
    ).join(", ")
  );
  out.push(
    "The operator's objects slower than 1.2 x the lower bound's total, by the owner of their longest wait:",
    "",
    ...beyond.map((b) => `- ${b}`),
    "",
  );
  out.push("Runs:", "", ...dirs.map((d) => `- ${d}`), "");
  return out.join("\n");
}

/**
 * `deno task bench --report DIR`: rewrites DIR's results.md and latency.svg from its results.json, re-analysing the
 * per-object timelines with this version's rules (bench/timeline.ts), so a run is read again without being repeated.
 *
 * @module
 */
import { analyse, beyondByOwner, type Step, type Timeline } from "./timeline.ts";
import { type BenchResult, chart, markdown, type ProfileResult, summary } from "./report.ts";
import type { RunTiming } from "./phases.ts";
import { ratio } from "./stats.ts";

/** The run's timelines again, from the stored per-object steps (seconds after each send). */
function reanalyse(run: RunTiming | undefined, done: Step): void {
  if (!run?.objectTimelines) return;
  const timelines: Record<string, Map<string, Timeline>> = {};
  for (const [cluster, objects] of Object.entries(run.objectTimelines)) {
    timelines[cluster] = new Map(
      Object.entries(objects).map(([name, steps]) => [
        name,
        Object.fromEntries(Object.entries(steps).map(([s, v]) => [s, (v as number) * 1000])) as Timeline,
      ]),
    );
  }
  run.timelines = analyse(timelines, done);
}

/** The operator's objects slower than 1.2 x the lower bound's total, by the owner of their longest wait. */
export function beyondOf(p: ProfileResult): ProfileResult["beyond"] {
  if (!p.lowerBound || !p.operator?.objectTimelines || Number.isNaN(p.lowerBound.totalMs)) return undefined;
  const limitS = Math.round(p.lowerBound.totalMs * 1.2 / 100) / 10;
  return { limitS, byOwner: beyondByOwner(p.operator.objectTimelines, "ready", limitS) };
}

/** Re-analyses a result in place (timelines and the unstalled ratio). */
export function reanalyseResult(r: BenchResult): BenchResult {
  for (const p of r.profiles) {
    reanalyse(p.lowerBound, "available");
    reanalyse(p.operator, "ready");
    p.beyond = beyondOf(p);
    if (p.ratio) {
      p.ratio.unstalled = ratio(
        p.operator?.timelines?.unstalledMaxS ?? undefined,
        p.lowerBound?.timelines?.unstalledMaxS ?? undefined,
      );
    }
  }
  return r;
}

/** Rewrites `dir`'s results (JSON, Markdown, chart) after re-analysis; returns the summary. */
export async function rewriteReport(dir: string): Promise<string> {
  const r = reanalyseResult(JSON.parse(await Deno.readTextFile(`${dir}/results.json`)));
  await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(r, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/results.md`, markdown(r));
  await Deno.writeTextFile(`${dir}/latency.svg`, chart(r));
  return summary(r);
}

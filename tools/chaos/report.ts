/**
 * The chaos run's report: every invariant's violations, what was done (faults and user actions), what the
 * operators went through (restarts, lease hand-overs, watch restarts by reason, peak RSS), creation latency on the
 * clusters whose API server was up compared with the fault-free run of the same seed, and the seed to replay.
 * Written as JSON and Markdown to bench/results/<time>-chaos-<M>x<N>/, like the benchmark's.
 *
 * @module
 */
import { type LatencySummary, ratio, secs, summarize } from "../../bench/stats.ts";
import type { Creation } from "./recorder.ts";
import { violationCount, type Violations } from "./invariants.ts";

/** A window in which a cluster's API server was down or hung (ms, run clock). */
export interface Outage {
  cluster: string;
  from: number;
  to: number;
}

/** Creation latency of objects whose whole creation (create sent → Ready) overlapped no outage of their cluster. */
export function healthyLatency(
  creations: Creation[],
  outages: Outage[],
): { ready: LatencySummary; notReady: number } {
  const hit = (c: Creation) =>
    outages.some((o) => o.cluster === c.cluster && o.from < (c.readyAt ?? Infinity) && o.to > c.sentAt);
  const healthy = creations.filter((c) => !hit(c));
  const ready = healthy.filter((c) => c.readyAt !== undefined).map((c) => c.readyAt! - c.sentAt);
  return { ready: summarize(ready), notReady: healthy.length - ready.length };
}

/** One run (with faults, or the fault-free one of the same seed). */
export interface RunFigures {
  faults: boolean;
  durationMs: number;
  /** How long after the window every invariant's end state held (undefined: not within the limit). */
  settleMs?: number;
  settleLimitMs: number;
  violations: Violations;
  latency: { ready: LatencySummary; notReady: number };
  faultsDone: Record<string, number>;
  faultFailures: string[];
  userActions: Record<string, number>;
  operators: {
    restarts: number;
    handovers: number;
    watchRestarts: Record<string, number>;
    peakRssMB: number;
  };
  counts: { incarnations: number; volumesDeleted: number; foreignObjects: number; creations: number };
}

/** The whole report. */
export interface ChaosReport {
  startedAt: string;
  seed: number;
  params: {
    clusters: number;
    objects: number;
    minutes: number;
    outageSeconds: number;
    settleMinutes: number;
  };
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  chaos: RunFigures;
  calm?: RunFigures;
  /** chaos / calm creation latency on healthy clusters. */
  latencyRatio?: { p50?: number; p90?: number };
}

/** chaos / calm latency ratios. */
export function latencyRatio(chaos: RunFigures, calm?: RunFigures): ChaosReport["latencyRatio"] {
  if (!calm) return undefined;
  return {
    p50: ratio(chaos.latency.ready.p50, calm.latency.ready.p50),
    p90: ratio(chaos.latency.ready.p90, calm.latency.ready.p90),
  };
}

const list = (r: Record<string, number>) =>
  Object.entries(r).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(", ") || "none";

function run(label: string, f: RunFigures): string[] {
  const v = f.violations;
  const row = (name: string, items: string[]) =>
    `| ${name} | ${items.length} | ${items.slice(0, 5).join("<br>") || ""} |`;
  return [
    `### ${label}`,
    "",
    "| invariant | violations | first ones |",
    "|---|---|---|",
    row("data volumes deleted without a verified final backup", v.dataWithoutBackup),
    row("foreign objects written or deleted", v.foreignTouched),
    row("duplicate children (Deployments, running backup Jobs)", v.duplicateChildren),
    row("Jobs left behind", v.jobsLeftBehind),
    row("stuck objects (deleting, or live and not Ready)", v.stuckObjects),
    "",
    `- settled: ${
      f.settleMs === undefined
        ? `**not within ${secs(f.settleLimitMs)} s**`
        : `${secs(f.settleMs)} s after the window (limit ${secs(f.settleLimitMs)} s)`
    }`,
    `- creation latency on clusters whose API server was up: p50 ${secs(f.latency.ready.p50)} s, p90 ${
      secs(f.latency.ready.p90)
    } s, max ${
      secs(f.latency.ready.max)
    } s over ${f.latency.ready.count} objects (${f.latency.notReady} more were deleted, or the run ended, before they were Ready)`,
    `- faults: ${list(f.faultsDone)}${
      f.faultFailures.length ? `; failed to act: ${f.faultFailures.join("; ")}` : ""
    }`,
    `- user actions: ${list(f.userActions)}`,
    `- operators: ${f.operators.restarts} restarts, ${f.operators.handovers} lease hand-overs, watch restarts ${
      list(f.operators.watchRestarts)
    }, peak RSS ${f.operators.peakRssMB} MB`,
    `- recorded: ${f.counts.incarnations} incarnations, ${f.counts.creations} creations, ${f.counts.volumesDeleted} volumes deleted, ${f.counts.foreignObjects} foreign objects`,
    "",
  ];
}

/** The Markdown report. */
export function markdown(r: ChaosReport): string {
  const p = r.params;
  const total = violationCount(r.chaos.violations);
  return [
    `# Chaos run ${r.startedAt}: ${total === 0 ? "every invariant held" : `**${total} violations**`}`,
    "",
    `${p.clusters} clusters x ${p.objects} objects, ${p.minutes} min of faults and user actions, outages of ${p.outageSeconds} s, settle limit ${p.settleMinutes} min. Seed **${r.seed}**: \`deno task chaos --seed ${r.seed} --clusters ${p.clusters} --objects ${p.objects} --minutes ${p.minutes}\` replays the schedule.`,
    "",
    ...run("With faults", r.chaos),
    ...(r.calm ? run("Fault-free, same seed", r.calm) : []),
    r.latencyRatio
      ? `Creation latency with faults / without, on clusters whose API server was up: p50 ${
        r.latencyRatio.p50 ?? "–"
      }, p90 ${r.latencyRatio.p90 ?? "–"}.`
      : "No fault-free run (--no-baseline): no latency ratio.",
    "",
    `Machine: ${JSON.stringify(r.machine)}; versions: ${JSON.stringify(r.versions)}.`,
    "",
  ].join("\n");
}

/** Writes results.json and results.md into a new directory under `root`. */
export async function writeReport(root: string, r: ChaosReport): Promise<string> {
  const stamp = r.startedAt.replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const dir = `${root}/${stamp}-chaos-${r.params.clusters}x${r.params.objects}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(r, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/results.md`, markdown(r));
  return dir;
}

/**
 * The benchmark report's timeline section: per creation run, the slowest objects with the step their time went to,
 * and the control-plane stalls (bench/timeline.ts), for the lower bound and the operator alike.
 *
 * @module
 */
import type { RunTiming } from "./phases.ts";
import { STEPS } from "./timeline.ts";

/** A run of the report, labelled. */
export interface LabelledRun {
  label: string;
  run?: RunTiming;
}

const v = (x: number | undefined | null) => x === undefined || x === null ? "–" : String(x);

/** Markdown lines of the timeline section. */
export function timelineMarkdown(runs: LabelledRun[]): string[] {
  const out = [
    "",
    "## Where the time went: per-object timelines",
    "",
    "Each object's steps as the benchmark's own watches first saw them, in seconds after its create was sent: " +
    "operator's first write (finalizer or status), claim created / Bound, Deployment, ReplicaSet and pod created, " +
    "pod scheduled / Ready, Deployment Available, object Ready. A step's wait runs from its latest prerequisite and " +
    "is charged to the step's owner. A control-plane wait over 60 s and over 5 times its step's median is a " +
    "stall; the slowest latency with the stalled objects left out is shown, so a stall does not pass for the " +
    "operator's cost. Every object's timeline is in results.json.",
    "",
    "| run | stalls (threshold s) | stalls by owner | slowest latency s without stalled objects |",
    "|---|---|---|---|",
  ];
  for (const { label, run } of runs) {
    const t = run?.timelines;
    if (!t) continue;
    const by = Object.entries(t.stallsByOwner).map(([k, n]) => `${k}: ${n}`).join(", ") || "none";
    out.push(`| ${label} | ${t.stalls.length} (${t.stallThresholdS}) | ${by} | ${v(t.unstalledMaxS)} |`);
  }
  for (const { label, run } of runs) {
    const t = run?.timelines;
    if (!t?.slowest.length) continue;
    out.push(
      "",
      `### Slowest objects: ${label}`,
      "",
      `| cluster | object | latency s | longest wait | ${STEPS.slice(1).join(" | ")} |`,
      `|---|---|---|---|${STEPS.slice(1).map(() => "---").join("|")}|`,
    );
    for (const o of t.slowest) {
      const why = o.slowest ? `${o.slowest.owner} (${o.slowest.step}) ${o.slowest.seconds} s` : "–";
      out.push(
        `| ${o.cluster} | ${o.name} | ${v(Number.isFinite(o.latencyS) ? o.latencyS : null)} | ${why} | ${
          STEPS.slice(1).map((s) => v(o.steps[s])).join(" | ")
        } |`,
      );
    }
  }
  return out;
}

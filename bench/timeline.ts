/**
 * Per-object timelines of a creation run: when each step of one MySQL object (or of the lower bound's children of one
 * name) was first seen, and which part of the system the time between steps belongs to. The attribution is pure: a
 * step waits for its prerequisites, and the time from the last prerequisite to the step is charged to the step's
 * owner (the operator, a controller of kube-controller-manager, the scheduler, kwok).
 *
 * @module
 */

/** The steps, in the order they usually happen. */
export const STEPS = [
  "sent",
  "operatorFirst",
  "claimCreated",
  "deploymentCreated",
  "replicaSetCreated",
  "podCreated",
  "claimBound",
  "podScheduled",
  "podReady",
  "available",
  "ready",
] as const;
/** One step of an object's way to Ready. */
export type Step = typeof STEPS[number];
/** First-seen times (epoch ms) of the steps of one object. */
export type Timeline = Partial<Record<Step, number>>;

/** Who a step's wait belongs to, and what it waits for. */
interface StepRule {
  owner: string;
  after: Step[];
}

/**
 * The step graph. `operatorFirst` (the operator's first write to the object) and `ready` exist only in operator runs;
 * a prerequisite never seen is skipped, so the lower bound's children hang off `sent`.
 */
const RULES: Record<Exclude<Step, "sent">, StepRule> = {
  operatorFirst: { owner: "operator queue", after: ["sent"] },
  claimCreated: { owner: "operator write", after: ["operatorFirst", "sent"] },
  deploymentCreated: { owner: "operator write", after: ["operatorFirst", "sent"] },
  replicaSetCreated: { owner: "controller-manager: deployment", after: ["deploymentCreated"] },
  podCreated: { owner: "controller-manager: replicaset", after: ["replicaSetCreated"] },
  claimBound: { owner: "controller-manager: volume binding", after: ["claimCreated"] },
  podScheduled: { owner: "scheduler", after: ["podCreated", "claimBound"] },
  podReady: { owner: "kwok", after: ["podScheduled"] },
  available: { owner: "controller-manager: deployment status", after: ["podReady"] },
  ready: { owner: "operator status", after: ["available"] },
};

/** Owners that are the control plane's, not the operator's. */
export function controlPlaneOwner(owner: string): boolean {
  return !owner.startsWith("operator");
}

/** The wait of one step. */
export interface StepWait {
  step: Step;
  owner: string;
  ms: number;
}

/** The wait of every seen step of a timeline (from the latest seen prerequisite), in step order. */
export function waits(t: Timeline): StepWait[] {
  const out: StepWait[] = [];
  for (const step of STEPS) {
    if (step === "sent" || t[step] === undefined) continue;
    const rule = RULES[step];
    // The latest prerequisite seen; an operator step's alternatives (operatorFirst, else sent) take the first seen.
    const seen = rule.after.map((s) => t[s]).filter((v): v is number => v !== undefined);
    if (!seen.length) continue;
    const from = step === "claimCreated" || step === "deploymentCreated" ? seen[0] : Math.max(...seen);
    out.push({ step, owner: rule.owner, ms: Math.max(0, t[step]! - from) });
  }
  return out;
}

/** The step an object's time went to: its longest wait. */
export function slowestStep(t: Timeline): StepWait | undefined {
  return waits(t).reduce<StepWait | undefined>((a, w) => (!a || w.ms > a.ms ? w : a), undefined);
}

/** How many times a step's median wait in the run a wait must exceed (as well as the threshold) to be a stall. */
export const STALL_OVER_MEDIAN = 5;

/**
 * Per step, the wait beyond which it is a stall: over the threshold AND over {@linkcode STALL_OVER_MEDIAN} times the
 * step's median wait in the run. A queue that every object waits in (the volume binder binds claims one after the
 * other: 100 s waits are its normal pace at 3 x 300) is the pace, not a stall; one object left behind for minutes
 * while its peers took a second is.
 */
export function stallLimits(
  timelines: Record<string, Map<string, Timeline>>,
  thresholdMs: number,
): Map<Step, number> {
  const byStep = new Map<Step, number[]>();
  for (const m of Object.values(timelines)) {
    for (const t of m.values()) {
      for (const w of waits(t)) {
        const xs = byStep.get(w.step);
        if (xs) xs.push(w.ms);
        else byStep.set(w.step, [w.ms]);
      }
    }
  }
  const limits = new Map<Step, number>();
  for (const step of STEPS) {
    const xs = (byStep.get(step) ?? []).sort((a, b) => a - b);
    const median = xs.length ? xs[(xs.length - 1) >> 1] : 0;
    limits.set(step, Math.max(thresholdMs, STALL_OVER_MEDIAN * median));
  }
  return limits;
}

/** One of the slowest objects of a run, with its timeline relative to `sent` (seconds). */
export interface SlowObject {
  cluster: string;
  name: string;
  latencyS: number;
  slowest?: { step: Step; owner: string; seconds: number };
  steps: Partial<Record<Step, number>>;
}

/** A control-plane step that waited longer than the stall threshold. */
export interface Stall {
  cluster: string;
  name: string;
  step: Step;
  owner: string;
  seconds: number;
}

/** What the timelines of one run say. */
export interface TimelineReport {
  /** The `limit` slowest objects. */
  slowest: SlowObject[];
  /** Every control-plane wait over the threshold, longest first. */
  stalls: Stall[];
  /** Stall counts by owner. */
  stallsByOwner: Record<string, number>;
  stallThresholdS: number;
  /** The slowest latency (send -> done) of the objects with no stall (seconds; null when none finished). */
  unstalledMaxS: number | null;
}

const s1 = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Names the slowest objects and the stalls of a run. `done` is the step that ends an object's latency (`ready` for
 * the operator, `available` for the lower bound).
 */
export function analyse(
  timelines: Record<string, Map<string, Timeline>>,
  done: Step,
  stallThresholdS = 60,
  limit = 10,
): TimelineReport {
  const all: SlowObject[] = [];
  const stalls: Stall[] = [];
  const limits = stallLimits(timelines, stallThresholdS * 1000);
  let last = -Infinity;
  for (const [cluster, m] of Object.entries(timelines)) {
    for (const [name, t] of m) {
      if (t.sent === undefined) continue;
      let stalled = false;
      for (const w of waits(t)) {
        if (controlPlaneOwner(w.owner) && w.ms > limits.get(w.step)!) {
          stalled = true;
          stalls.push({ cluster, name, step: w.step, owner: w.owner, seconds: s1(w.ms) });
        }
      }
      const end = t[done];
      if (!stalled && end !== undefined) last = Math.max(last, end - t.sent);
      const slow = slowestStep(t);
      all.push({
        cluster,
        name,
        latencyS: end === undefined ? Infinity : s1(end - t.sent),
        ...(slow ? { slowest: { step: slow.step, owner: slow.owner, seconds: s1(slow.ms) } } : {}),
        steps: Object.fromEntries(
          STEPS.filter((s) => t[s] !== undefined).map((s) => [s, s1(t[s]! - t.sent!)]),
        ),
      });
    }
  }
  all.sort((a, b) => b.latencyS - a.latencyS);
  stalls.sort((a, b) => b.seconds - a.seconds);
  const stallsByOwner: Record<string, number> = {};
  for (const s of stalls) stallsByOwner[s.owner] = (stallsByOwner[s.owner] ?? 0) + 1;
  const unstalledMaxS = last === -Infinity ? null : s1(last);
  return { slowest: all.slice(0, limit), stalls, stallsByOwner, stallThresholdS, unstalledMaxS };
}

/** The objects of a run slower than `limitS`, counted by the owner of their longest wait. */
export function beyondByOwner(
  objectTimelines: Record<string, Record<string, Partial<Record<Step, number>>>>,
  done: Step,
  limitS: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const objects of Object.values(objectTimelines)) {
    for (const steps of Object.values(objects)) {
      const end = steps[done];
      if (end !== undefined && end <= limitS) continue;
      const owner = slowestStep(steps)?.owner ?? "never done";
      out[owner] = (out[owner] ?? 0) + 1;
    }
  }
  return out;
}

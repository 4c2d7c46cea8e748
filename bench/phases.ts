/**
 * The measured phases of one cluster set: the lower bound (direct writer), the operator's creation run, idle, the
 * deletion run and the outage run. Each returns plain data for the report.
 *
 * @module
 */
import type { BenchClusters } from "./clusters.ts";
import { NamespaceTracker } from "./track.ts";
import { analyse, type Step, STEPS, type TimelineReport } from "./timeline.ts";
import {
  createNamespace,
  createObjects,
  deleteObjects,
  objectNames,
  removeNamespace,
  SKIP_FINAL_BACKUP,
} from "./workload.ts";
import { type LatencySummary, summarize } from "./stats.ts";
import {
  type ApiServerCounts,
  apiServerCounts,
  type OperatorCounts,
  operatorCounts,
  snapshot,
} from "./snapshot.ts";
import { mb, ProcSampler } from "./proc.ts";
import type { MemorySampler } from "./memory.ts";
import type { DirectResult } from "./direct_writer.ts";
import type { OperatorProcess } from "./operator_process.ts";
import { startCluster, stopCluster } from "../tools/cluster/clusters.ts";
import { clusterPaths } from "../tools/cluster/paths.ts";
import { componentPid } from "../tools/cluster/state.ts";

/** Shared settings of the phases. */
export interface PhaseOptions {
  objects: number;
  createInFlight: number;
  directParallel: number;
  timeoutMs: number;
  log: (m: string) => void;
}

/** Timing of one cluster in a run. */
export interface ClusterTiming {
  /** First request sent -> last object done. */
  totalMs: number;
  latency: LatencySummary;
  /** Objects not done before the deadline. */
  missing: number;
}

/** Timing of a creation or deletion run over every cluster. */
export interface RunTiming {
  namespace: string;
  /** Objects per cluster. */
  objects: number;
  complete: boolean;
  /** First request sent (any cluster) -> last object done (any cluster). */
  totalMs: number;
  /** Per-object latency over all clusters. */
  latency: LatencySummary;
  perCluster: Record<string, ClusterTiming>;
  /** First request -> last Deployment Available / last claim Bound (creation runs). */
  lastAvailableMs?: number;
  lastBoundMs?: number;
  /** First request -> the last create/delete request returned. */
  requestsSentMs?: number;
  /** Creation runs: the slowest objects, where their time went, and control-plane stalls (bench/timeline.ts). */
  timelines?: TimelineReport;
  /** Creation runs: every object's steps, seconds after its create was sent, by cluster and name. */
  objectTimelines?: Record<string, Record<string, Partial<Record<Step, number>>>>;
}

/** Stamps each object's send time on its timeline and analyses the run's timelines. */
function timelinesOf(
  ts: NamespaceTracker[],
  sent: Record<string, Map<string, number>>,
  done: Step,
): Pick<RunTiming, "timelines" | "objectTimelines"> {
  const objectTimelines: NonNullable<RunTiming["objectTimelines"]> = {};
  for (const t of ts) {
    for (const [name, at] of sent[t.cluster] ?? []) t.mark(name, "sent", at);
    // Ready and Available are the tracker's own first-seen maps (the Deployment is named as its instance).
    for (const [name, at] of t.ready) t.mark(name, "ready", at);
    for (const [name, at] of t.available) t.mark(name, "available", at);
    const rel: Record<string, Partial<Record<Step, number>>> = {};
    for (const [name, tl] of t.timelines) {
      if (tl.sent === undefined) continue;
      rel[name] = Object.fromEntries(
        STEPS.filter((s) => tl[s] !== undefined).map((s) => [s, Math.round((tl[s]! - tl.sent!) / 100) / 10]),
      );
    }
    objectTimelines[t.cluster] = rel;
  }
  return {
    timelines: analyse(Object.fromEntries(ts.map((t) => [t.cluster, t.timelines])), done),
    objectTimelines,
  };
}

/** Resource use of a process over a phase. */
export interface ProcUse {
  cpuSeconds?: number;
  peakRssMB?: number;
  rssMB?: number;
  connectionsOpened?: number;
  maxOpenConnections?: number;
}

/** Timing from first-sent and done maps per context. */
export function timing(
  namespace: string,
  objects: number,
  sent: Record<string, Map<string, number>>,
  done: Record<string, Map<string, number>>,
): RunTiming {
  const perCluster: Record<string, ClusterTiming> = {};
  const all: number[] = [];
  let first = Infinity, last = -Infinity, complete = true;
  for (const [ctx, s] of Object.entries(sent)) {
    const d = done[ctx] ?? new Map();
    const lat: number[] = [];
    let cFirst = Infinity, cLast = -Infinity;
    for (const [name, t0] of s) {
      cFirst = Math.min(cFirst, t0);
      const t1 = d.get(name);
      if (t1 === undefined) continue;
      lat.push(Math.max(0, t1 - t0));
      cLast = Math.max(cLast, t1);
    }
    const missing = objects - lat.length;
    if (missing > 0) complete = false;
    // NaN (shown as –) when nothing finished: there is no time to report.
    perCluster[ctx] = { totalMs: lat.length ? cLast - cFirst : NaN, latency: summarize(lat), missing };
    all.push(...lat);
    first = Math.min(first, cFirst);
    last = Math.max(last, cLast);
  }
  const totalMs = all.length ? last - first : NaN;
  return { namespace, objects, complete, totalMs, latency: summarize(all), perCluster };
}

function lastOf(maps: Map<string, number>[], first: number): number | undefined {
  let last = -Infinity;
  for (const m of maps) for (const t of m.values()) last = Math.max(last, t);
  return last === -Infinity ? undefined : last - first;
}

function firstSent(sent: Record<string, Map<string, number>>): number {
  let first = Infinity;
  for (const m of Object.values(sent)) for (const t of m.values()) first = Math.min(first, t);
  return first;
}

async function trackers(c: BenchClusters, contexts: string[], ns: string): Promise<NamespaceTracker[]> {
  await Promise.all(contexts.map((ctx) => createNamespace(c.admin[ctx], ns)));
  const ts = contexts.map((ctx) => new NamespaceTracker(c.admin[ctx], ctx, ns));
  await Promise.all(ts.map((t) => t.synced()));
  return ts;
}

/** The lower bound's result. */
export interface LowerBoundResult extends RunTiming {
  requests: number;
  errors: string[];
  apiserver: Record<string, ApiServerCounts>;
  proc: ProcUse;
}

/** Runs the direct writer as its own process and times it until every Deployment is Available. */
export async function lowerBound(c: BenchClusters, ns: string, o: PhaseOptions): Promise<LowerBoundResult> {
  const ts = await trackers(c, c.contexts, ns);
  const before = await snapshot(c.scrape);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./direct_writer.ts", import.meta.url).pathname,
      "--kubeconfig",
      c.kubeconfigs["bench-direct"],
      ...c.contexts.flatMap((ctx) => ["--context", ctx]),
      "--namespace",
      ns,
      "--objects",
      String(o.objects),
      "--parallel",
      String(o.directParallel),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ports = Object.values(c.servers).map((s) => Number(new URL(s).port));
  const sampler = new ProcSampler(child.pid, ports);
  // Give it time to load and connect (not measured), then say go.
  await new Promise((r) => setTimeout(r, 3000));
  const w = child.stdin.getWriter();
  await w.write(new Uint8Array([1]));
  await w.close();
  const output = child.output();
  const done = await Promise.all(
    ts.map((t) => t.until(() => t.available.size >= o.objects, o.timeoutMs)),
  );
  o.log(`lower bound: ${done.every(Boolean) ? "every Deployment Available" : "deadline passed"}; collecting`);
  const out = await output;
  sampler.stop();
  const after = await snapshot(c.scrape);
  for (const t of ts) await t.stop();
  const result: DirectResult = JSON.parse(new TextDecoder().decode(out.stdout));
  const sent: Record<string, Map<string, number>> = {};
  for (const [ctx, m] of Object.entries(result.started)) sent[ctx] = new Map(Object.entries(m));
  const first = firstSent(sent);
  const t = timing(ns, o.objects, sent, Object.fromEntries(ts.map((t) => [t.cluster, t.available])));
  if (!done.every(Boolean)) o.log(`lower bound: not every Deployment was Available within the deadline`);
  return {
    ...t,
    ...timelinesOf(ts, sent, "available"),
    lastAvailableMs: lastOf(ts.map((t) => t.available), first),
    lastBoundMs: lastOf(ts.map((t) => t.bound), first),
    requestsSentMs: Math.max(...Object.values(result.finished)) - first,
    requests: result.requests,
    errors: result.errors.slice(0, 20),
    apiserver: apiServerCounts(before, after),
    proc: {
      cpuSeconds: sampler.last?.cpuSeconds,
      peakRssMB: mb(sampler.peakRssBytes),
      connectionsOpened: sampler.connectionsOpened,
      maxOpenConnections: sampler.maxOpenConnections,
    },
  };
}

/** The operator's creation run. */
export interface OperatorRunResult extends RunTiming {
  operator?: OperatorCounts;
  operatorByCluster: Record<string, OperatorCounts | undefined>;
  apiserver: Record<string, ApiServerCounts>;
  proc: ProcUse;
}

/** A running operator as the phases see it. */
export interface RunningOperator {
  op: OperatorProcess;
  sampler: ProcSampler;
  /** The RSS split from the operator's /metrics (bench/memory.ts). */
  memory: MemorySampler;
  metrics: () => Promise<string>;
}

function procUse(r: RunningOperator, cpuBefore?: number): ProcUse {
  const s = r.sampler.sample();
  return {
    cpuSeconds: s && cpuBefore !== undefined ? Math.round((s.cpuSeconds - cpuBefore) * 100) / 100 : undefined,
    peakRssMB: mb(r.sampler.peakRssBytes),
    rssMB: mb(s?.rssBytes),
    connectionsOpened: r.sampler.connectionsOpened,
    maxOpenConnections: r.sampler.maxOpenConnections,
  };
}

/**
 * Creates N objects per context at once with the operator running and waits until each is Ready. Returns the
 * trackers too (the deletion phase goes on watching the same namespace).
 */
export async function operatorRun(
  c: BenchClusters,
  contexts: string[],
  ns: string,
  r: RunningOperator,
  o: PhaseOptions,
  annotations?: Record<string, string>,
): Promise<{ result: OperatorRunResult; trackers: NamespaceTracker[] }> {
  const ts = await trackers(c, contexts, ns);
  const names = objectNames(o.objects);
  const before = await snapshot(c.scrape, r.metrics, r.sampler, contexts);
  const sentList = await Promise.all(
    contexts.map((ctx) => createObjects(c.admin[ctx], ns, names, o.createInFlight, annotations)),
  );
  const sentAt = Date.now();
  const sent = Object.fromEntries(contexts.map((ctx, i) => [ctx, sentList[i]]));
  const done = await Promise.all(ts.map((t) => t.until(() => t.ready.size >= o.objects, o.timeoutMs)));
  const after = await snapshot(c.scrape, r.metrics, r.sampler, contexts);
  if (!done.every(Boolean)) o.log(`operator run ${ns}: not every object was Ready within the deadline`);
  const first = firstSent(sent);
  const t = timing(ns, o.objects, sent, Object.fromEntries(ts.map((t) => [t.cluster, t.ready])));
  return {
    result: {
      ...t,
      ...timelinesOf(ts, sent, "ready"),
      lastAvailableMs: lastOf(ts.map((t) => t.available), first),
      lastBoundMs: lastOf(ts.map((t) => t.bound), first),
      requestsSentMs: sentAt - first,
      operator: operatorCounts(before, after),
      operatorByCluster: Object.fromEntries(contexts.map((ctx) => [ctx, operatorCounts(before, after, ctx)])),
      apiserver: apiServerCounts(before, after),
      proc: procUse(r, before.cpuSeconds),
    },
    trackers: ts,
  };
}

/** Idle cost. */
export interface IdleResult {
  /** How long the operator took to go quiet after the last object was Ready. */
  settleMs: number;
  minutes: number;
  perMinute: {
    requests: number;
    reads: number;
    writes: number;
    /** Lease renewals (verb update: only the lease uses it). */
    leaseWrites: number;
    otherWrites: number;
    reconciles: number;
    byVerb: Record<string, number>;
    /** The API servers' count of the operator identity's requests. */
    apiserverOperator: number;
    cpuSeconds?: number;
  };
  proc: ProcUse;
}

/** Waits until the operator stops reconciling, then measures requests over `minutes`. */
export async function idle(
  c: BenchClusters,
  r: RunningOperator,
  minutes: number,
  o: PhaseOptions,
): Promise<IdleResult> {
  const t0 = Date.now();
  let last = await snapshot(c.scrape, r.metrics);
  let quietSince = Date.now();
  while (Date.now() - t0 < 180_000) {
    await new Promise((res) => setTimeout(res, 2000));
    const s = await snapshot({}, r.metrics);
    const n = operatorCounts(last, s)!;
    if (n.reconciles > 0) {
      quietSince = Date.now();
      last = s;
    } else if (Date.now() - quietSince >= 10_000) break;
  }
  const settleMs = quietSince - t0;
  o.log(`idle: quiet after ${(settleMs / 1000).toFixed(1)} s; measuring ${minutes} min`);
  const before = await snapshot(c.scrape, r.metrics, r.sampler);
  await new Promise((res) => setTimeout(res, minutes * 60_000));
  const after = await snapshot(c.scrape, r.metrics, r.sampler);
  const n = operatorCounts(before, after)!;
  const api = apiServerCounts(before, after);
  const per = (v: number) => Math.round((v / minutes) * 10) / 10;
  const lease = n.byVerb.update ?? 0;
  return {
    settleMs,
    minutes,
    perMinute: {
      requests: per(n.total),
      reads: per(n.reads),
      writes: per(n.writes),
      leaseWrites: per(lease),
      otherWrites: per(n.writes - lease),
      reconciles: per(n.reconciles),
      byVerb: Object.fromEntries(Object.entries(n.byVerb).map(([k, v]) => [k, per(v)])),
      apiserverOperator: per(Object.values(api).reduce((a, x) => a + x.operator.dispatched, 0)),
      cpuSeconds: after.cpuSeconds !== undefined && before.cpuSeconds !== undefined
        ? Math.round(((after.cpuSeconds - before.cpuSeconds) / minutes) * 100) / 100
        : undefined,
    },
    proc: procUse(r),
  };
}

/** The deletion run. */
export interface DeletionResult extends RunTiming {
  /** Distinct backup Jobs seen (one final backup per object expected). */
  backupJobs: number;
  /** First delete -> last Deployment gone (garbage collection), when it finished within the deadline. */
  lastDeploymentGoneMs?: number;
  operator?: OperatorCounts;
  apiserver: Record<string, ApiServerCounts>;
  proc: ProcUse;
}

/** Deletes every object at once and waits until each is gone. */
export async function deletion(
  c: BenchClusters,
  ts: NamespaceTracker[],
  r: RunningOperator,
  o: PhaseOptions,
): Promise<DeletionResult> {
  const names = objectNames(o.objects);
  const ns = ts[0].namespace;
  const before = await snapshot(c.scrape, r.metrics, r.sampler);
  const sentList = await Promise.all(
    ts.map((t) => deleteObjects(c.admin[t.cluster], ns, names, o.createInFlight)),
  );
  const sentAt = Date.now();
  const sent = Object.fromEntries(ts.map((t, i) => [t.cluster, sentList[i]]));
  const done = await Promise.all(ts.map((t) => t.until(() => t.gone.size >= o.objects, o.timeoutMs)));
  if (!done.every(Boolean)) o.log(`deletion: not every object was gone within the deadline`);
  const after = await snapshot(c.scrape, r.metrics, r.sampler);
  await Promise.all(ts.map((t) => t.until(() => t.deploymentsGone.size >= t.deployments.size, 120_000)));
  const first = firstSent(sent);
  const t = timing(ns, o.objects, sent, Object.fromEntries(ts.map((t) => [t.cluster, t.gone])));
  const allGone = ts.every((t) => t.deploymentsGone.size >= t.deployments.size);
  return {
    ...t,
    requestsSentMs: sentAt - first,
    backupJobs: ts.reduce((a, t) => a + t.backupJobs.size, 0),
    lastDeploymentGoneMs: allGone ? lastOf(ts.map((t) => t.deploymentsGone), first) : undefined,
    operator: operatorCounts(before, after),
    apiserver: apiServerCounts(before, after),
    proc: procUse(r, before.cpuSeconds),
  };
}

/** The outage run. */
export interface OutageResult {
  /** `down` (every component of the cluster stopped) or `hang` (its API server SIGSTOPped). */
  mode: string;
  /** The cluster taken out. */
  cluster: string;
  /** The run on the other clusters meanwhile. */
  run: OperatorRunResult;
  /** Per healthy cluster: the same cluster's latency in the healthy run. */
  healthy: Record<string, ClusterTiming>;
  /** After the cluster was back: time until the operator reported it connected and synced again. */
  recoveredMs?: number;
}

/** Takes one cluster out (down or hung), runs creation on the others, brings it back, cleans up. */
export async function outage(
  c: BenchClusters,
  mode: "down" | "hang",
  ns: string,
  r: RunningOperator,
  healthyRun: OperatorRunResult,
  o: PhaseOptions,
): Promise<OutageResult> {
  const victim = c.names[c.names.length - 1];
  const victimCtx = c.contexts[c.contexts.length - 1];
  const others = c.contexts.slice(0, -1);
  const paths = await clusterPaths();
  let apiPid: number | undefined;
  if (mode === "down") await stopCluster(victim, o.log);
  else {
    apiPid = await componentPid(paths, victim, "kube-apiserver");
    if (apiPid === undefined) throw new Error(`no kube-apiserver pid for ${victim}`);
    Deno.kill(apiPid, "SIGSTOP");
  }
  o.log(`outage: ${victim} is ${mode === "down" ? "stopped" : "hung (kube-apiserver SIGSTOP)"}`);
  let run: OperatorRunResult;
  let ts: NamespaceTracker[] = [];
  try {
    const res = await operatorRun(c, others, ns, r, o, SKIP_FINAL_BACKUP);
    run = res.result;
    ts = res.trackers;
  } finally {
    if (mode === "down") await startCluster(victim, o.log);
    else Deno.kill(apiPid!, "SIGCONT");
  }
  const back = Date.now();
  let recoveredMs: number | undefined;
  while (Date.now() - back < 300_000) {
    try {
      const ready = JSON.parse((await r.op.http("/readyz")).body);
      const h = ready.clusters.find((x: { cluster: string }) => x.cluster === victimCtx);
      if (h?.connected && h?.synced) {
        recoveredMs = Date.now() - back;
        break;
      }
    } catch { /* retry */ }
    await new Promise((res) => setTimeout(res, 250));
  }
  o.log(`outage: ${victim} back; the operator reconnected in ${recoveredMs ?? "?"} ms`);
  // Clean up (these objects skip their final backup).
  const names = objectNames(o.objects);
  await Promise.all(ts.map((t) => deleteObjects(c.admin[t.cluster], ns, names, o.createInFlight)));
  await Promise.all(ts.map((t) => t.until(() => t.gone.size >= o.objects, o.timeoutMs)));
  for (const t of ts) await t.stop();
  const healthy = Object.fromEntries(others.map((ctx) => [ctx, healthyRun.perCluster[ctx]]));
  return { mode, cluster: victimCtx, run, healthy, recoveredMs };
}

export { objectNames, removeNamespace };

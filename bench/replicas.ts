/**
 * `deno task bench --replicas K`: K operator processes over the cluster set share it (runtime/shard.ts). Measures,
 * with the default 15 s lease: how long until the clusters are shared evenly, how long after one replica is killed
 * until the survivors lead every cluster (and how evenly), how long after it comes back until the clusters are
 * shared evenly again, and each replica's memory and API requests per idle minute. Leadership is read from each
 * process's /readyz (the processes' own view; tests/replicas_test.ts judges it from the Leases' history too).
 *
 * @module
 */
import type { BenchClusters } from "./clusters.ts";
import { type OperatorProcess, startOperator } from "./operator_process.ts";
import { ProcSampler } from "./proc.ts";
import { parseProm, sum } from "./prom.ts";

/** The replicas row. */
export interface ReplicasResult {
  replicas: number;
  clusters: number;
  leaseSeconds: number;
  /** Clusters led per replica once shared (sorted), and how long from the first start. */
  shared: { shape: number[]; seconds: number };
  /** After one replica was killed: the survivors' shape and how long until they led every cluster. */
  afterKill: { shape: number[]; seconds: number };
  /** After it came back: the shape and how long until it was even again. */
  afterReturn: { shape: number[]; seconds: number };
  /** API requests per replica per idle minute (leases and member slots; nothing else to do). */
  idleRequestsPerMinute: number[];
  peakRssMB: number[];
}

/** Clusters led per process (its /readyz), sorted; undefined for a process that does not answer. */
async function shape(ops: OperatorProcess[]): Promise<number[]> {
  const counts = await Promise.all(ops.map(async (op) => {
    const r = JSON.parse((await op.http("/readyz")).body);
    return (r.clusters as Array<{ leading: boolean }>).filter((c) => c.leading).length;
  }));
  return counts.sort((a, b) => a - b);
}

/** Whether `s` shares `clusters` as evenly as ceil/floor allow (every cluster led once). */
export function even(s: number[], clusters: number): boolean {
  const sum = s.reduce((a, b) => a + b, 0);
  return sum === clusters && Math.max(...s) - Math.min(...s) <= 1;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      if (await fn()) return Math.round((performance.now() - t0) / 100) / 10;
    } catch { /* a process busy starting */ }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`replicas: ${what} not within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the replicas phase on the cluster set. */
export async function replicasPhase(
  c: BenchClusters,
  k: number,
  log: (m: string) => void,
  root?: string,
): Promise<ReplicasResult> {
  const n = c.contexts.length, leaseSeconds = 15;
  const args = (i: number) => [
    "--kubeconfig",
    c.kubeconfigs["bench-operator"],
    ...c.contexts.flatMap((ctx) => ["--context", ctx]),
    "--identity",
    `bench-replica-${i}`,
  ];
  const ops: OperatorProcess[] = [];
  const samplers: ProcSampler[] = [];
  const start = async (i: number) => {
    ops[i] = await startOperator(args(i), root);
    samplers[i] = new ProcSampler(ops[i].child.pid, []);
  };
  try {
    log(`replicas: ${k} processes over ${n} clusters`);
    const t0 = performance.now();
    for (let i = 0; i < k; i++) await start(i);
    await until("an even share", async () => even(await shape(ops), n), 120_000);
    const shared = { shape: await shape(ops), seconds: Math.round((performance.now() - t0) / 100) / 10 };
    log(`replicas: shared ${shared.shape.join(" + ")} after ${shared.seconds} s`);

    const requests = () =>
      Promise.all(
        ops.map(async (op) =>
          sum(parseProm((await op.http("/metrics")).body), "mysql_operator_api_requests_total")
        ),
      );
    const before = await requests();
    await new Promise((r) => setTimeout(r, 60_000));
    const after = await requests();
    const idleRequestsPerMinute = after.map((a, i) => a - before[i]);

    await ops[1].kill();
    samplers[1].stop();
    const alive = ops.filter((_, i) => i !== 1);
    const killSeconds = await until("the survivors to lead every cluster", async () => {
      const s = await shape(alive);
      return s.reduce((a, b) => a + b, 0) === n;
    }, 120_000);
    const afterKill = { shape: await shape(alive), seconds: killSeconds };
    log(`replicas: one killed; survivors ${afterKill.shape.join(" + ")} after ${afterKill.seconds} s`);

    await start(1);
    const returnSeconds = await until("an even share again", async () => even(await shape(ops), n), 120_000);
    const afterReturn = { shape: await shape(ops), seconds: returnSeconds };
    log(`replicas: back; ${afterReturn.shape.join(" + ")} after ${afterReturn.seconds} s`);
    for (const s of samplers) s.sample();
    return {
      replicas: k,
      clusters: n,
      leaseSeconds,
      shared,
      afterKill,
      afterReturn,
      idleRequestsPerMinute,
      peakRssMB: samplers.map((s) => Math.round(s.peakRssBytes / 1024 / 102.4) / 10),
    };
  } finally {
    samplers.forEach((s) => s.stop());
    await Promise.all(ops.map((op) => op?.stop()));
  }
}

/** The report's rows. */
export function replicasMarkdown(label: string, r: ReplicasResult): string[] {
  return [
    "",
    "## Replicas sharing the clusters",
    "",
    `${r.replicas} operator processes over ${r.clusters} clusters, ${r.leaseSeconds} s lease (each process's /readyz).`,
    "",
    "| cluster set | shared (s) | one killed: survivors (s) | back (s) | idle requests / min per replica | peak RSS MB per replica |",
    "|---|---|---|---|---|---|",
    `| ${label} | ${r.shared.shape.join(" + ")} (${r.shared.seconds}) | ${
      r.afterKill.shape.join(" + ")
    } (${r.afterKill.seconds}) | ${r.afterReturn.shape.join(" + ")} (${r.afterReturn.seconds}) | ${
      r.idleRequestsPerMinute.join(", ")
    } | ${r.peakRssMB.join(", ")} |`,
  ];
}

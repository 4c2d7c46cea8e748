/**
 * `deno task chaos`: M clusters x N objects, two operator processes with leader election, and for a fixed time a
 * seeded schedule of operator kills, API server outages, network faults, etcd compactions and users acting at
 * once; then every invariant checked and the figures written to bench/results/. Run with --help for the flags.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { prepareClusters } from "../../bench/clusters.ts";
import { machineInfo, versions } from "../../bench/report.ts";
import { downClusters } from "../cluster/clusters.ts";
import { violationCount } from "./invariants.ts";
import { type ChaosReport, latencyRatio, markdown, writeReport } from "./report.ts";
import { chaosRun } from "./run.ts";

const USAGE = `usage: deno task chaos [flags]

Creates dedicated local clusters (<prefix>1..M), runs two operator processes with leader election through a
fault-injecting proxy per cluster, creates N MySQL objects per cluster, and for --minutes plays a seeded schedule:
SIGKILL of the leading operator (sometimes of both) and its restart; one cluster's control plane stopped and another's
kube-apiserver hung (SIGSTOP), each for --outage-seconds; connections cut, frozen half-open or slowed; an etcd
compaction per cluster; users creating, deleting (some with a failing backup image fixed later), re-creating, editing,
asking for backups, deleting and editing children, relabelling data claims, creating other apps' objects under the
operator's child names first, and deleting a namespace with instances in it. Then every fault is healed and the run
waits up to --settle-minutes for the end state. First (unless --no-baseline) the same seed runs without faults, for
the latency ratio. Exit code 1 when any invariant was violated.

flags:
  --clusters M          clusters (default 3)
  --objects N           MySQL objects per cluster at the start (default 100)
  --minutes T           length of the fault window (default 10)
  --seed S              the schedule's seed (default: random; the report names it)
  --outage-seconds N    how long the stopped and the hung API server stay so (default 60)
  --settle-minutes N    the most the end state may take after the window (default 5)
  --lease-seconds N     the operators' --lease-duration-seconds (default 15)
  --no-baseline         skip the fault-free run (no latency ratio)
  --prefix P            cluster name prefix (default mo-chaos-)
  --keep                keep the clusters afterwards
  --out DIR             results directory (default bench/results)
`;

function num(v: string | undefined, flag: string, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number >= ${min}, got ${v}`);
  return n;
}

async function main(): Promise<number> {
  const { values: f } = parseArgs({
    args: Deno.args,
    options: {
      clusters: { type: "string" },
      objects: { type: "string" },
      minutes: { type: "string" },
      seed: { type: "string" },
      "outage-seconds": { type: "string" },
      "settle-minutes": { type: "string" },
      "lease-seconds": { type: "string" },
      "no-baseline": { type: "boolean" },
      prefix: { type: "string" },
      keep: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const clusters = num(f.clusters, "--clusters", 3, 1);
  const objects = num(f.objects, "--objects", 100, 1);
  const minutes = num(f.minutes, "--minutes", 10, 0.5);
  const seed = f.seed === undefined
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : num(f.seed, "--seed", 0);
  const outageSeconds = num(f["outage-seconds"], "--outage-seconds", 60, 1);
  const settleMinutes = num(f["settle-minutes"], "--settle-minutes", 5, 0.5);
  const leaseSeconds = num(f["lease-seconds"], "--lease-seconds", 15, 2);
  const prefix = f.prefix ?? "mo-chaos-";
  const t0 = performance.now();
  const log = (m: string) =>
    console.error(`[chaos ${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${m}`);
  const names = Array.from({ length: clusters }, (_, i) => `${prefix}${i + 1}`);
  const workDir = await Deno.makeTempDir({ prefix: "mo-chaos-" });
  const startedAt = new Date().toISOString();
  log(`seed ${seed}: ${clusters} x ${objects}, ${minutes} min`);
  const c = await prepareClusters("default", names, workDir, Math.max(1, Math.ceil(objects / 50)), log);
  try {
    const run = (faults: boolean) =>
      chaosRun(c, workDir, {
        seed,
        objects,
        durationMs: minutes * 60_000,
        outageMs: outageSeconds * 1000,
        settleMs: settleMinutes * 60_000,
        leaseSeconds,
        faults,
        log,
      });
    const calm = f["no-baseline"] ? undefined : await run(false);
    const chaos = await run(true);
    const report: ChaosReport = {
      startedAt,
      seed,
      params: { clusters, objects, minutes, outageSeconds, settleMinutes },
      machine: { ...await machineInfo() },
      versions: await versions(),
      chaos,
      calm,
      latencyRatio: latencyRatio(chaos, calm),
    };
    const dir = await writeReport(f.out ?? "bench/results", report);
    console.log(markdown(report));
    log(`report: ${dir}`);
    return violationCount(chaos.violations) + (calm ? violationCount(calm.violations) : 0) > 0 ? 1 : 0;
  } finally {
    c.close();
    if (!f.keep) await downClusters(names, log);
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());

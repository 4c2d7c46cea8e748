/**
 * `deno task bench`: the operator against the lower bound on local kwok clusters. Per cluster set (controller
 * manager with its default client limits, and with --kube-api-qps 500): the lower bound (a direct parallel writer),
 * the operator creating M x N objects at once, idle cost, M x N deletions with their final backups, and one cluster
 * down while the others work. Results go to bench/results/<time>-<M>x<N>/ as JSON, Markdown and an SVG chart.
 * Run with --help for the flags.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { downClusters } from "../tools/cluster/clusters.ts";
import { startOperator as startOperatorProcess } from "./operator_process.ts";
import { type BenchClusters, benchNames, prepareClusters } from "./clusters.ts";
import {
  deletion,
  idle,
  lowerBound,
  operatorRun,
  outage,
  type PhaseOptions,
  removeNamespace,
  type RunningOperator,
} from "./phases.ts";
import { highestSample, ProcSampler } from "./proc.ts";
import { MemorySampler } from "./memory.ts";
import { removeLeftovers } from "./workload.ts";
import { httpClients } from "./http_clients.ts";
import { type BenchResult, machineInfo, type ProfileResult, versions, writeResults } from "./report.ts";
import { ratio } from "./stats.ts";
import { repeatMarkdown, summarizeRepeats } from "./repeat.ts";
import { beyondOf, rewriteReport } from "./reanalyse.ts";
import { replicasPhase } from "./replicas.ts";
import { FIGURES, scalingChart, scalingMarkdown, type ScalingRow, scalingRow } from "./scaling.ts";

const USAGE = `usage: deno task bench [flags]

Creates dedicated kwok clusters (mo-bench-1..M; mo-bench-qps-1..M with kube-controller-manager --kube-api-qps 500),
and per cluster set measures: the lower bound (a direct parallel writer of the same children), the operator
creating M x N MySQL objects at once until each is Ready, idle API requests per minute, M x N deletions with their
final backup Jobs, and one cluster down while the others create N objects. Deletes the clusters at the end.

flags:
  --clusters M          clusters per set (default 3)
  --objects N           MySQL objects per cluster (default 100)
  --profiles LIST       default,raised (default both): controller-manager client limits of the cluster set
  --concurrency N       the operator's --concurrency (default: the operator's default)
  --operator-arg ARG    extra argument for \`mysql-operator run\` (repeatable)
  --create-in-flight N  the benchmark's create/delete requests in flight per cluster (default 64)
  --direct-parallel N   objects the lower-bound writer handles at once per cluster (default 32)
  --idle-minutes N      length of the idle measurement (default 3; 0 skips it)
  --outage MODE         down (kwokctl stop) | hang (SIGSTOP of its kube-apiserver) | none (default down)
  --skip-deletion       no deletion phase
  --skip-lower-bound    no lower-bound phase
  --skip-http           no client connection-reuse comparison
  --timeout-seconds N   deadline of each run (default 120 + 2 x N)
  --keep                keep the clusters afterwards
  --out DIR             results directory (default bench/results)
  --label TEXT          a note stored with the results
  --report DIR          no run: rewrite DIR's results.md from its results.json with this version's timeline analysis
                        (repeatable: with several, also their repeat summary, as --repeat writes it)
  --repeat K            the whole benchmark K times (fresh clusters each time); writes each run's results and
                        <time>-repeat-K-MxN/summary.md with the min / median / max of every ratio (default 1)
  --operator-env K=V    environment of the operator process (repeatable), e.g. DENO_V8_FLAGS=--max-semi-space-size=2
  --operator-root DIR   run main.ts of another checkout (e.g. \`git archive\` of an older commit), for before/after
  --scaling             the run for every cluster count x total object count below (objects per cluster = total /
                        clusters; --profiles defaults to raised, --outage to none, no connection-reuse comparison);
                        writes each run's results and <time>-scaling/ with a table, the per-cluster and per-object
                        slopes and an SVG chart per figure (peak and idle RSS, CPU, requests per object, idle
                        requests per minute, ratio to the lower bound)
  --replicas K          only this: K operator processes over the cluster set share it (15 s lease); time to an even
                        share, survivors after one is killed, even again after it returns, idle requests and peak
                        RSS per replica (e.g. --clusters 9 --replicas 3 --profiles raised)
  --scaling-clusters L  cluster counts of --scaling (default 1,3,10)
  --scaling-objects L   total object counts of --scaling (default 100,300,1000)
`;

function int(v: string | undefined, flag: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${v}`);
  return n;
}

const t0 = Date.now();
function log(m: string): void {
  console.error(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${m}`);
}

async function startOperator(
  c: BenchClusters,
  args: string[],
  root?: string,
  env?: Record<string, string>,
): Promise<RunningOperator> {
  const op = await startOperatorProcess(
    [
      "--kubeconfig",
      c.kubeconfigs["bench-operator"],
      ...c.contexts.flatMap((ctx) => ["--context", ctx]),
      ...args,
    ],
    root,
    env,
  );
  const ports = Object.values(c.servers).map((s) => Number(new URL(s).port));
  const sampler = new ProcSampler(op.child.pid, ports);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = JSON.parse((await op.http("/readyz")).body);
    if (r.ready && r.clusters.every((x: { leading: boolean }) => x.leading)) break;
    if (Date.now() > deadline) throw new Error(`the operator did not become ready: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
  const metrics = async () => (await op.http("/metrics")).body;
  return { op, sampler, memory: new MemorySampler(metrics), metrics };
}

async function runProfile(
  profile: "default" | "raised",
  f: ReturnType<typeof flags>,
  runId: string,
  workDir: string,
): Promise<ProfileResult> {
  const names = benchNames(profile, f.clusters);
  log(`${profile}: clusters ${names.join(", ")}`);
  // A fake node runs at most 110 pods; the deletion phase has a Deployment pod and a backup Job pod per object.
  const nodes = Math.max(1, Math.ceil(f.objects / 50));
  const c = await prepareClusters(profile, names, workDir, nodes, log);
  const o: PhaseOptions = {
    objects: f.objects,
    createInFlight: f.createInFlight,
    directParallel: f.directParallel,
    timeoutMs: f.timeoutMs,
    log,
  };
  const result: ProfileResult = { profile, clusters: c.contexts, kcmQps: c.kcmQps };
  let r: RunningOperator | undefined;
  try {
    await Promise.all(c.contexts.map((ctx) => removeLeftovers(c.admin[ctx], log)));
    if (f.http) {
      log(`${profile}: client connection reuse (200 sequential GETs per client)`);
      result.http = await httpClients(c.adminKubeconfig, c.contexts[0]);
    }
    if (f.replicas > 1) {
      result.replicas = await replicasPhase(c, f.replicas, log, f.operatorRoot);
      return result;
    }
    if (f.lowerBound) {
      log(`${profile}: lower bound: ${f.clusters} x ${f.objects} objects written directly`);
      const ns = `bench-lb-${runId}`;
      result.lowerBound = await lowerBound(c, ns, o);
      log(
        `${profile}: lower bound: ${result.lowerBound.complete ? "all" : "NOT all"} Available in ${
          (result.lowerBound.totalMs / 1000).toFixed(1)
        } s; cleaning up`,
      );
      await Promise.all(c.contexts.map((ctx) => removeNamespace(c.admin[ctx], ns)));
    }
    log(`${profile}: starting the operator`);
    r = await startOperator(c, f.operatorArgs, f.operatorRoot, f.operatorEnv);
    const ns = `bench-op-${runId}`;
    log(`${profile}: operator: ${f.clusters} x ${f.objects} objects created at once`);
    const run = await operatorRun(c, c.contexts, ns, r, o);
    result.operator = run.result;
    log(
      `${profile}: operator: ${run.result.complete ? "all" : "NOT all"} Ready in ${
        (run.result.totalMs / 1000).toFixed(1)
      } s`,
    );
    if (result.lowerBound) {
      result.ratio = {
        total: ratio(run.result.totalMs, result.lowerBound.totalMs),
        p50: ratio(run.result.latency.p50, result.lowerBound.latency.p50),
        p99: ratio(run.result.latency.p99, result.lowerBound.latency.p99),
        unstalled: ratio(
          run.result.timelines?.unstalledMaxS ?? undefined,
          result.lowerBound.timelines?.unstalledMaxS ?? undefined,
        ),
      };
    }
    result.beyond = beyondOf(result);
    if (f.idleMinutes > 0) result.idle = await idle(c, r, f.idleMinutes, o);
    if (f.deletion) {
      log(`${profile}: deletion: ${f.clusters} x ${f.objects} objects deleted at once (final backups)`);
      result.deletion = await deletion(c, run.trackers, r, o);
      log(
        `${profile}: deletion: ${result.deletion.complete ? "all" : "NOT all"} gone in ${
          (result.deletion.totalMs / 1000).toFixed(1)
        } s`,
      );
    }
    for (const t of run.trackers) await t.stop();
    if (f.outage !== "none" && f.clusters >= 2) {
      log(
        `${profile}: outage (${f.outage}) of ${names.at(-1)}; ${
          f.clusters - 1
        } x ${f.objects} objects meanwhile`,
      );
      result.outage = await outage(c, f.outage, `bench-outage-${runId}`, r, run.result, o);
    }
    r.sampler.sample();
    await r.memory.sample();
    result.operatorProcess = {
      peakRssMB: Math.round(r.sampler.peakRssBytes / 1024 / 102.4) / 10,
      highestSample: highestSample(r.sampler),
      memory: r.memory.stop(),
      cpuSeconds: r.sampler.last?.cpuSeconds,
      connectionsOpened: r.sampler.connectionsOpened,
      maxOpenConnections: r.sampler.maxOpenConnections,
    };
  } catch (err) {
    result.error = (err as Error).stack ?? String(err);
    log(`${profile}: FAILED: ${result.error}`);
    if (r) result.operatorLogTail = (await r.op.logs()).slice(-4000);
  } finally {
    if (r) {
      r.sampler.stop();
      r.memory.stop();
      await r.op.stop();
      // What the operator said about late objects and watch restarts (the timelines' other half); the rest goes.
      const notable = (await r.op.logs()).split("\n").filter((l) =>
        /not progressing|watch of .* restarts/.test(l)
      );
      result.operatorNotable = {
        count: notable.length,
        late: notable.filter((l) => l.includes("not progressing")).length,
        lines: notable.slice(0, 200),
      };
      await Deno.remove(r.op.logFile).catch(() => {});
    }
    c.close();
    if (!f.keep) {
      log(`${profile}: deleting the clusters`);
      await downClusters(names, log);
    }
  }
  return result;
}

function flags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: "string" },
      objects: { type: "string" },
      profiles: { type: "string" },
      concurrency: { type: "string" },
      "operator-arg": { type: "string", multiple: true },
      "create-in-flight": { type: "string" },
      "direct-parallel": { type: "string" },
      "idle-minutes": { type: "string" },
      outage: { type: "string" },
      "skip-deletion": { type: "boolean" },
      "skip-lower-bound": { type: "boolean" },
      "skip-http": { type: "boolean" },
      "timeout-seconds": { type: "string" },
      keep: { type: "boolean" },
      out: { type: "string" },
      label: { type: "string" },
      repeat: { type: "string" },
      report: { type: "string", multiple: true },
      "operator-root": { type: "string" },
      "operator-env": { type: "string", multiple: true },
      scaling: { type: "boolean" },
      replicas: { type: "string" },
      "scaling-clusters": { type: "string" },
      "scaling-objects": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const objects = int(values.objects, "--objects", 100);
  const scaling = Boolean(values.scaling);
  const list = (v: string, flag: string) => v.split(",").map((x) => int(x.trim(), flag, 1));
  const profiles = (values.profiles ?? (scaling ? "raised" : "default,raised")).split(",").map((s) =>
    s.trim()
  ).filter(Boolean);
  for (const p of profiles) {
    if (p !== "default" && p !== "raised") throw new Error(`--profiles: unknown profile ${p}`);
  }
  const outageMode = values.outage ?? (scaling ? "none" : "down");
  if (!["down", "hang", "none"].includes(outageMode)) throw new Error(`--outage must be down, hang or none`);
  const operatorArgs = [...(values["operator-arg"] ?? [])];
  if (values.concurrency) {
    operatorArgs.push("--concurrency", String(int(values.concurrency, "--concurrency", 8)));
  }
  return {
    help: Boolean(values.help),
    clusters: int(values.clusters, "--clusters", 3),
    objects,
    profiles: profiles as Array<"default" | "raised">,
    operatorArgs,
    createInFlight: int(values["create-in-flight"], "--create-in-flight", 64),
    directParallel: int(values["direct-parallel"], "--direct-parallel", 32),
    idleMinutes: int(values["idle-minutes"], "--idle-minutes", 3, 0),
    outage: outageMode as "down" | "hang" | "none",
    deletion: !values["skip-deletion"],
    lowerBound: !values["skip-lower-bound"],
    http: !values["skip-http"] && !scaling,
    timeoutMs: int(values["timeout-seconds"], "--timeout-seconds", 120 + 2 * objects) * 1000,
    timeoutGiven: values["timeout-seconds"] !== undefined,
    replicas: int(values.replicas, "--replicas", 1),
    scaling: scaling
      ? {
        clusters: list(values["scaling-clusters"] ?? "1,3,10", "--scaling-clusters"),
        objects: list(values["scaling-objects"] ?? "100,300,1000", "--scaling-objects"),
      }
      : undefined,
    keep: Boolean(values.keep),
    out: values.out ?? new URL("./results", import.meta.url).pathname,
    label: values.label,
    repeat: int(values.repeat, "--repeat", 1),
    report: values.report ?? [],
    operatorRoot: values["operator-root"],
    operatorEnv: Object.fromEntries((values["operator-env"] ?? []).map((kv) => {
      const i = kv.indexOf("=");
      if (i < 1) throw new Error(`--operator-env needs NAME=VALUE, got ${kv}`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    })),
  };
}

/** One whole benchmark run: its results written under `f.out`. */
async function runOnce(f: ReturnType<typeof flags>): Promise<{ result: BenchResult; dir: string }> {
  const runId = crypto.randomUUID().slice(0, 6);
  const workDir = await Deno.makeTempDir({ prefix: "mysql-operator-bench-" });
  const started = Date.now();
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    machine: await machineInfo(),
    versions: await versions(),
    params: {
      clusters: f.clusters,
      objects: f.objects,
      profiles: f.profiles,
      operatorArgs: f.operatorArgs,
      createInFlight: f.createInFlight,
      directParallel: f.directParallel,
      idleMinutes: f.idleMinutes,
      outage: f.outage,
      timeoutSeconds: f.timeoutMs / 1000,
      label: f.label,
      operatorRoot: f.operatorRoot,
      operatorEnv: f.operatorEnv,
    },
    profiles: [],
  };
  log(`load at start: ${result.machine.loadAtStart.join(" ")}`);
  const loads: number[] = [];
  const loadTimer = setInterval(async () => {
    const l = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
    loads.push(l);
  }, 10_000);
  try {
    for (const p of f.profiles) {
      result.profiles.push(await runProfile(p, f, runId, workDir));
    }
  } finally {
    clearInterval(loadTimer);
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
  result.finishedAt = new Date().toISOString();
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  result.machine.loadAtEnd = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  result.machine.load1Max = loads.length ? Math.max(...loads) : undefined;
  result.machine.load1Mean = loads.length
    ? Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 100) / 100
    : undefined;
  const { dir, summary } = await writeResults(f.out, result);
  console.log(summary);
  console.log(`results: ${dir}`);
  return { result, dir };
}

/** Writes `<time>-repeat-K-MxN/summary.{json,md}` over several runs of the same parameters. */
async function writeRepeatSummary(
  out: string,
  runs: Array<{ result: BenchResult; dir: string }>,
): Promise<void> {
  const r0 = runs[0].result;
  const stamp = r0.startedAt.replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const dir = `${out}/${stamp}-repeat-${runs.length}-${r0.params.clusters}x${r0.params.objects}`;
  await Deno.mkdir(dir, { recursive: true });
  const results = runs.map((r) => r.result);
  await Deno.writeTextFile(`${dir}/summary.json`, JSON.stringify(summarizeRepeats(results), null, 2) + "\n");
  const md = repeatMarkdown(results, runs.map((r) => r.dir));
  await Deno.writeTextFile(`${dir}/summary.md`, md);
  console.log(md);
  console.log(`repeat summary: ${dir}`);
}

/** `--scaling`: one run per (clusters, total objects); then the table, slopes and charts. */
async function runScaling(f: ReturnType<typeof flags>): Promise<number> {
  const rows: ScalingRow[] = [];
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const dir = `${f.out}/${stamp}-scaling`;
  const write = async () => {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/summary.json`, JSON.stringify(rows, null, 2) + "\n");
    await Deno.writeTextFile(`${dir}/summary.md`, scalingMarkdown(rows));
    for (const [fig, label] of FIGURES) {
      await Deno.writeTextFile(`${dir}/${fig}.svg`, scalingChart(rows, fig, label));
    }
  };
  // Smaller totals first: a matrix cut short still has whole curves for them.
  for (const total of f.scaling!.objects) {
    for (const clusters of f.scaling!.clusters) {
      const objects = Math.max(1, Math.round(total / clusters));
      log(`scaling: ${clusters} clusters x ${objects} objects (${clusters * objects} in all)`);
      const timeoutMs = f.timeoutGiven ? f.timeoutMs : (120 + 2 * objects) * 1000;
      try {
        const run = await runOnce({ ...f, clusters, objects, timeoutMs });
        rows.push(scalingRow(run.result, run.dir));
      } catch (err) {
        rows.push({ clusters, objects: clusters * objects, dir: "", error: (err as Error).message });
      }
      await write(); // after every run: a long matrix interrupted keeps what it measured
    }
  }
  console.log(scalingMarkdown(rows));
  console.log(`scaling summary: ${dir}`);
  return rows.some((r) => r.error) ? 1 : 0;
}

async function main(): Promise<number> {
  const f = flags(Deno.args);
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const runs: Array<{ result: BenchResult; dir: string }> = [];
  if (f.scaling) return await runScaling(f);
  if (f.report.length) {
    for (const dir of f.report) {
      console.log(await rewriteReport(dir));
      runs.push({ dir, result: JSON.parse(await Deno.readTextFile(`${dir}/results.json`)) });
    }
  } else {
    for (let i = 1; i <= f.repeat; i++) {
      if (f.repeat > 1) log(`repeat ${i} of ${f.repeat}`);
      runs.push(await runOnce(f));
    }
  }
  if (runs.length > 1) await writeRepeatSummary(f.out, runs);
  return runs.some((r) => r.result.profiles.some((p) => p.error)) ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    Deno.exit(2);
  }
}

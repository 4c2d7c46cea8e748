/**
 * The benchmark's results: the JSON document, a Markdown report, an SVG chart of latency percentiles per cluster,
 * and the short summary printed at the end.
 *
 * @module
 */
import type { MemoryReport } from "./memory.ts";
import { replicasMarkdown, type ReplicasResult } from "./replicas.ts";
import denoJson from "../deno.json" with { type: "json" };
import type { HttpClientsResult } from "./http_clients.ts";
import type {
  ClusterTiming,
  DeletionResult,
  IdleResult,
  LowerBoundResult,
  OperatorRunResult,
  OutageResult,
  RunTiming,
} from "./phases.ts";
import { secs } from "./stats.ts";
import { timelineMarkdown } from "./report_timelines.ts";

/** Results of one cluster set. */
export interface ProfileResult {
  profile: string;
  clusters: string[];
  kcmQps: Record<string, number | undefined>;
  http?: HttpClientsResult;
  lowerBound?: LowerBoundResult;
  operator?: OperatorRunResult;
  /** Operator / lower bound. */
  /** Operator / lower bound; `unstalled`: of the slowest latencies without stalled objects (bench/timeline.ts). */
  ratio?: { total?: number; p50?: number; p99?: number; unstalled?: number };
  /** The operator's objects slower than 1.2 x the lower bound's total, by the owner of their longest wait. */
  beyond?: { limitS: number; byOwner: Record<string, number> };
  idle?: IdleResult;
  deletion?: DeletionResult;
  outage?: OutageResult;
  /** `--replicas K`: K processes sharing the cluster set (bench/replicas.ts). */
  replicas?: ReplicasResult;
  /** The operator process over the whole profile. */
  operatorProcess?: {
    peakRssMB: number;
    /** The /proc sample (every 250 ms) with the highest RSS, split into anonymous and file-backed pages. */
    highestSample?: { rssMB: number; anonMB: number; fileMB: number };
    /** RSS split from the operator's /metrics, sampled every second (bench/memory.ts). */
    memory?: MemoryReport;
    cpuSeconds?: number;
    connectionsOpened: number;
    maxOpenConnections: number;
  };
  error?: string;
  operatorLogTail?: string;
  /**
   * The operator's log lines about late objects ("not progressing") and watch restarts: how many, how many of them
   * late (counted over all of them; results written before it have none), and the first 200.
   */
  operatorNotable?: { count: number; late?: number; lines: string[] };
}

/** The whole run. */
export interface BenchResult {
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memTotalMB: number;
    kernel: string;
    loadAtStart: number[];
    loadAtEnd?: number[];
    load1Mean?: number;
    load1Max?: number;
  };
  versions: Record<string, string>;
  params: Record<string, unknown>;
  profiles: ProfileResult[];
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** CPU, memory, kernel and load of this machine. */
export async function machineInfo(): Promise<BenchResult["machine"]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "?",
    memTotalMB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024),
    kernel: (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim(),
    loadAtStart: (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number),
  };
}

/** Versions of everything involved. */
export async function versions(): Promise<Record<string, string>> {
  const build = await Deno.readTextFile(new URL("../tools/cluster/build.sh", import.meta.url));
  const v = (k: string) => new RegExp(`${k}="\\$\\{${k}:-([^}]+)\\}"`).exec(build)?.[1] ?? "?";
  const root = new URL("..", import.meta.url).pathname;
  const commit = await text("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  const dirty = await text("git", [
    "-C",
    root,
    "status",
    "--porcelain",
    "--",
    "runtime",
    "reconcilers",
    "main.ts",
  ]);
  return {
    operator: denoJson.version,
    commit: commit + (dirty ? " (+ uncommitted changes in runtime/ or reconcilers/)" : ""),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kubernetes: v("K8S_VERSION"),
    etcd: v("ETCD_VERSION"),
    kwok: v("KWOK_VERSION"),
  };
}

const s = secs;
const n = (v: number | undefined) => v === undefined || Number.isNaN(v) ? "–" : String(v);

function limits(p: ProfileResult): string {
  const q = [...new Set(Object.values(p.kcmQps))];
  return q.length === 1 && q[0] === undefined
    ? "default (20 QPS)"
    : `raised (--kube-api-qps ${q.map((x) => x ?? "20").join("/")})`;
}

function timingRow(label: string, t: RunTiming | undefined, extra: string[]): string {
  if (!t) return `| ${label} | – | – | – | – | – | ${extra.map(() => "–").join(" | ")} |`;
  const done = t.complete ? "" : " (incomplete)";
  return `| ${label} | ${s(t.totalMs)}${done} | ${s(t.latency.p50)} | ${s(t.latency.p99)} | ${
    s(t.latency.max)
  } | ${s(t.lastBoundMs)} | ${extra.join(" | ")} |`;
}

/** The Markdown report. */
export function markdown(r: BenchResult): string {
  const out: string[] = [];
  const p0 = r.params;
  out.push(`# mysql-operator benchmark: ${p0.clusters} clusters × ${p0.objects} objects`, "");
  out.push(
    `${r.startedAt} · ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memTotalMB} MB, kernel ${r.machine.kernel} · ` +
      `load (1 min) at start ${r.machine.loadAtStart[0]}, mean ${n(r.machine.load1Mean)}, max ${
        n(r.machine.load1Max)
      } · ${r.durationSeconds ?? "?"} s in all`,
    "",
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    `Parameters: ${JSON.stringify(r.params)}`,
    "",
  );
  out.push(
    "## Creation: every object Ready (operator) / every Deployment Available (lower bound)",
    "",
    "Latency of an object: its create request sent → Ready (operator) or its Deployment Available (lower bound). " +
      "Total: first request → last object done. Claims Bound: first request → last PVC Bound.",
    "",
    "| cluster set | run | total s | p50 s | p99 s | max s | claims Bound s | requests (reads / writes) | CPU s | peak RSS MB | connections |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const p of r.profiles) {
    const lb = p.lowerBound, op = p.operator;
    out.push(
      timingRow(`${limits(p)}`, lb && { ...lb }, [
        lb ? `${lb.requests} (0 / ${lb.requests})` : "–",
        n(lb?.proc.cpuSeconds),
        n(lb?.proc.peakRssMB),
        n(lb?.proc.connectionsOpened),
      ]).replace(/^\| ([^|]*) \|/, `| $1 | lower bound |`),
    );
    out.push(
      timingRow(`${limits(p)}`, op, [
        op?.operator ? `${op.operator.total} (${op.operator.reads} / ${op.operator.writes})` : "–",
        n(op?.proc.cpuSeconds),
        n(op?.proc.peakRssMB),
        n(op?.proc.connectionsOpened),
      ]).replace(/^\| ([^|]*) \|/, `| $1 | operator |`),
    );
    if (p.ratio) {
      out.push(
        `| ${limits(p)} | **operator / lower bound** | **${n(p.ratio.total)}** | ${n(p.ratio.p50)} | ${
          n(p.ratio.p99)
        } | | | | | | |`,
      );
    }
  }
  out.push(
    "",
    "### Per cluster",
    "",
    "| cluster set | cluster | lower bound total s | operator total s | operator p50 / p99 / max s |",
    "|---|---|---|---|---|",
  );
  for (const p of r.profiles) {
    for (const ctx of p.clusters) {
      const lb = p.lowerBound?.perCluster[ctx], op = p.operator?.perCluster[ctx];
      out.push(
        `| ${limits(p)} | ${ctx} | ${s(lb?.totalMs)} | ${s(op?.totalMs)} | ${s(op?.latency.p50)} / ${
          s(op?.latency.p99)
        } / ${s(op?.latency.max)} |`,
      );
    }
  }
  out.push(
    ...timelineMarkdown(r.profiles.flatMap((p) => [
      { label: `${limits(p)}, lower bound`, run: p.lowerBound },
      { label: `${limits(p)}, operator`, run: p.operator },
    ])),
  );
  out.push(
    "",
    "### API requests of the creation run",
    "",
    "The operator's own count (mysql_operator_api_requests_total) against each API server's count of the " +
      "operator's identity (apiserver_flowcontrol_dispatched_requests_total of its FlowSchema).",
    "",
    "| cluster set | by verb (operator's metrics) | per object | reconciles | operator's count | API servers' count (regular + watch) |",
    "|---|---|---|---|---|---|",
  );
  for (const p of r.profiles) {
    const op = p.operator;
    if (!op?.operator) continue;
    // Only clusters the API server answered for at both ends of the run are compared.
    const ctxs = Object.keys(op.apiserver);
    const opCount = ctxs.reduce((a, c) => a + (op.operator!.byCluster[c] ?? 0), 0);
    const api = Object.values(op.apiserver);
    const regular = api.reduce((a, x) => a + x.operator.regular, 0);
    const watch = api.reduce((a, x) => a + x.operator.watch, 0);
    const dispatched = api.reduce((a, x) => a + x.operator.dispatched, 0);
    const objects = op.objects * p.clusters.length;
    const of = ctxs.length === p.clusters.length ? "" : ` (${ctxs.length} of ${p.clusters.length} clusters)`;
    out.push(
      `| ${limits(p)} | ${Object.entries(op.operator.byVerb).map(([k, v]) => `${k} ${v}`).join(", ")} | ${
        (op.operator.total / objects).toFixed(1)
      } | ${op.operator.reconciles} | ${opCount}${of} | ${dispatched} (${regular} + ${watch})${of} |`,
    );
  }
  for (const p of r.profiles) {
    const pairs = p.operator?.operator?.byResourceVerb;
    if (!pairs || !Object.keys(pairs).length) continue;
    const objects = p.operator!.objects * p.clusters.length;
    out.push(
      "",
      `Requests per object by resource and verb (${limits(p)}; the lower bound writes 8 per object):`,
      "",
      "| resource | verb | per object | total |",
      "|---|---|---|---|",
      ...Object.entries(pairs).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => {
        const [resource, verb] = k.split(" ");
        return `| ${resource || "(other)"} | ${verb} | ${(v / objects).toFixed(2)} | ${v} |`;
      }),
    );
  }
  const idles = r.profiles.filter((p) => p.idle);
  if (idles.length) {
    out.push(
      "",
      "## Idle (everything converged)",
      "",
      "| cluster set | minutes | requests/min | reads/min | writes/min | of which lease renewals | other writes/min | reconciles/min | CPU s/min | RSS MB |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const p of idles) {
      const i = p.idle!.perMinute;
      out.push(
        `| ${limits(p)} | ${
          p.idle!.minutes
        } | ${i.requests} | ${i.reads} | ${i.writes} | ${i.leaseWrites} | **${i.otherWrites}** | ${i.reconciles} | ${
          n(i.cpuSeconds)
        } | ${n(p.idle!.proc.rssMB)} |`,
      );
    }
  }
  const dels = r.profiles.filter((p) => p.deletion);
  if (dels.length) {
    out.push(
      "",
      "## Deletion (each object's final backup Job, then the finalizer comes off)",
      "",
      "| cluster set | total s | p50 s | p99 s | max s | backup Jobs | Deployments collected s | operator requests | CPU s |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const p of dels) {
      const d = p.deletion!;
      out.push(
        `| ${limits(p)} | ${s(d.totalMs)}${d.complete ? "" : " (incomplete)"} | ${s(d.latency.p50)} | ${
          s(d.latency.p99)
        } | ${s(d.latency.max)} | ${d.backupJobs} | ${s(d.lastDeploymentGoneMs)} | ${
          n(d.operator?.total)
        } | ${n(d.proc.cpuSeconds)} |`,
      );
    }
  }
  const outs = r.profiles.filter((p) => p.outage);
  if (outs.length) {
    out.push(
      "",
      "## One cluster out while the others work",
      "",
      "| cluster set | out (mode) | cluster | healthy run: total / p50 / p99 s | during the outage: total / p50 / p99 s | reconnected after s |",
      "|---|---|---|---|---|---|",
    );
    for (const p of outs) {
      const o = p.outage!;
      for (const [ctx, h] of Object.entries(o.healthy)) {
        const d = o.run.perCluster[ctx];
        const t = (x?: ClusterTiming) =>
          x ? `${s(x.totalMs)} / ${s(x.latency.p50)} / ${s(x.latency.p99)}` : "–";
        out.push(
          `| ${limits(p)} | ${o.cluster} (${o.mode}) | ${ctx} | ${t(h)} | ${t(d)} | ${s(o.recoveredMs)} |`,
        );
      }
    }
  }
  for (const p of r.profiles) if (p.replicas) out.push(...replicasMarkdown(limits(p), p.replicas));
  const procs = r.profiles.filter((p) => p.operatorProcess);
  if (procs.length) {
    out.push(
      "",
      "## The operator process over the whole cluster set",
      "",
      "| cluster set | peak RSS MB | highest sample: RSS / anonymous / file-backed MB | CPU s | TCP connections opened | most open at once |",
      "|---|---|---|---|---|---|",
    );
    for (const p of procs) {
      const o = p.operatorProcess!;
      out.push(
        `| ${limits(p)} | ${o.peakRssMB} | ${
          o.highestSample
            ? `${o.highestSample.rssMB} / ${o.highestSample.anonMB} / ${o.highestSample.fileMB}`
            : "–"
        } | ${n(o.cpuSeconds)} | ${o.connectionsOpened} | ${o.maxOpenConnections} |`,
      );
    }
    const split = procs.filter((p) => p.operatorProcess!.memory);
    if (split.length) {
      out.push(
        "",
        "Where the memory went (from the operator's /metrics every second: the sample with the highest RSS, and each",
        "part's own highest; rest = RSS less the reserved V8 heap and external memory: runtime, buffers, allocator):",
        "",
        "| cluster set | samples | at peak: RSS | heap reserved | heap used | external | rest | highest: heap reserved | heap used | external | rest |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
      );
      for (const p of split) {
        const { samples, atPeak: a, max: m } = p.operatorProcess!.memory!;
        out.push(
          `| ${
            limits(p)
          } | ${samples} | ${a.rssMB} | ${a.heapTotalMB} | ${a.heapUsedMB} | ${a.externalMB} | ${a.restMB} | ${m.heapTotalMB} | ${m.heapUsedMB} | ${m.externalMB} | ${m.restMB} |`,
        );
      }
    }
  }
  const http = r.profiles.find((p) => p.http)?.http;
  if (http) {
    out.push(
      "",
      `## Connection reuse: ${http.count} sequential GETs`,
      "",
      "| client | ms | ms per request |",
      "|---|---|---|",
    );
    for (const [k, v] of Object.entries(http.ms)) {
      out.push(`| ${k} | ${v} | ${(v / http.count).toFixed(2)} |`);
    }
  }
  for (const p of r.profiles.filter((p) => p.error)) {
    out.push("", `## ${p.profile}: FAILED`, "", "```", p.error!, "```");
  }
  out.push("", "![latency percentiles per cluster](latency.svg)", "");
  return out.join("\n");
}

function esc(t: string): string {
  return t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An SVG of p50/p99/max latency per cluster, lower bound against operator, per cluster set. */
export function chart(r: BenchResult): string {
  type Row = { label: string; t?: { p50: number; p99: number; max: number }; kind: "lb" | "op" | "head" };
  const rows: Row[] = [];
  for (const p of r.profiles) {
    rows.push({ label: limits(p), kind: "head" });
    for (const ctx of p.clusters) {
      const lb = p.lowerBound?.perCluster[ctx]?.latency, op = p.operator?.perCluster[ctx]?.latency;
      if (lb) rows.push({ label: `${ctx} lower bound`, t: lb, kind: "lb" });
      if (op) rows.push({ label: `${ctx} operator`, t: op, kind: "op" });
    }
  }
  const max = Math.max(1, ...rows.map((x) => x.t?.max ?? 0).filter((v) => !Number.isNaN(v)));
  const left = 240, width = 520, rowH = 20, top = 40;
  const h = top + rows.length * rowH + 40;
  const x = (ms: number) => left + (ms / max) * width;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${
      left + width + 40
    }" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${
      esc(`Latency per object (create → Ready), ${r.params.clusters} × ${r.params.objects}`)
    }</text>`,
    `<text x="10" y="34" fill="#555">bars: p50 (dark), p99 (mid), max (light); seconds</text>`,
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    if (row.kind === "head") {
      parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(row.label)}</text>`);
      return;
    }
    const hue = row.kind === "lb" ? ["#9ecae1", "#6baed6", "#2171b5"] : ["#fdd0a2", "#fd8d3c", "#d94801"];
    parts.push(`<text x="20" y="${y + 14}">${esc(row.label)}</text>`);
    const t = row.t!;
    for (const [v, color] of [[t.max, hue[0]], [t.p99, hue[1]], [t.p50, hue[2]]] as const) {
      if (!Number.isNaN(v)) {
        parts.push(
          `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${
            rowH - 6
          }" fill="${color}"/>`,
        );
      }
    }
    parts.push(
      `<text x="${x(t.max) + 4}" y="${y + 14}" fill="#333">${secs(t.p50)} / ${secs(t.p99)} / ${
        secs(t.max)
      }</text>`,
    );
  });
  const axisY = top + rows.length * rowH + 10;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + width}" y2="${axisY}" stroke="#999"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<text x="${x(v)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${secs(v)}</text>`);
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** The summary printed at the end. */
export function summary(r: BenchResult): string {
  const lines = [
    `mysql-operator bench: ${r.params.clusters} clusters × ${r.params.objects} objects, load ${
      r.machine.loadAtStart[0]
    } at start (mean ${n(r.machine.load1Mean)})`,
  ];
  for (const p of r.profiles) {
    const parts = [`${limits(p)}:`];
    if (p.lowerBound) parts.push(`lower bound ${s(p.lowerBound.totalMs)} s`);
    if (p.operator) {
      parts.push(
        `operator ${s(p.operator.totalMs)} s${p.operator.complete ? "" : " (NOT all Ready)"} (p50 ${
          s(p.operator.latency.p50)
        }, p99 ${s(p.operator.latency.p99)})`,
      );
    }
    if (p.ratio) parts.push(`ratio ${n(p.ratio.total)} (without stalls ${n(p.ratio.unstalled)})`);
    if (p.beyond) {
      const by = Object.entries(p.beyond.byOwner).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
      parts.push(`objects over ${p.beyond.limitS} s (1.2 x lower bound): ${by}`);
    }
    const stalls = [p.lowerBound, p.operator].map((x) => x?.timelines?.stalls.length ?? "–");
    parts.push(`control-plane stalls ${stalls[0]} (lower bound) / ${stalls[1]} (operator)`);
    if (p.idle) {
      parts.push(`idle writes/min ${p.idle.perMinute.otherWrites} (+${p.idle.perMinute.leaseWrites} lease)`);
    }
    if (p.deletion) parts.push(`deletion ${s(p.deletion.totalMs)} s`);
    const rp = p.replicas;
    if (rp) {
      parts.push(
        `${rp.replicas} replicas over ${rp.clusters} clusters: ${
          rp.shared.shape.join(" + ")
        } in ${rp.shared.seconds} s, ` +
          `one killed: ${rp.afterKill.shape.join(" + ")} in ${rp.afterKill.seconds} s, back: ${
            rp.afterReturn.shape.join(" + ")
          } in ${rp.afterReturn.seconds} s`,
      );
    }
    if (p.operatorProcess) parts.push(`peak RSS ${p.operatorProcess.peakRssMB} MB`);
    const at = p.operatorProcess?.memory?.atPeak;
    if (at) parts.push(`(heap ${at.heapTotalMB}, external ${at.externalMB}, rest ${at.restMB} MB)`);
    if (p.operatorNotable) {
      // Counted over every line, not the 200 kept: 495 lines, the first 200 late, once read as 295 watch restarts.
      const late = p.operatorNotable.late ??
        p.operatorNotable.lines.filter((l) => l.includes("not progressing")).length;
      parts.push(`operator log: ${late} "not progressing", ${p.operatorNotable.count - late} watch restarts`);
    }
    if (p.error) parts.push(`FAILED: ${p.error.split("\n")[0]}`);
    lines.push("  " + parts.join(", "));
  }
  return lines.join("\n");
}

/** Writes results.json, results.md and latency.svg into a new directory under `root`. */
export async function writeResults(root: string, r: BenchResult): Promise<{ dir: string; summary: string }> {
  const stamp = r.startedAt.replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  const dir = `${root}/${stamp}-${r.params.clusters}x${r.params.objects}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(r, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/results.md`, markdown(r));
  await Deno.writeTextFile(`${dir}/latency.svg`, chart(r));
  return { dir, summary: summary(r) };
}

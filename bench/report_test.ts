import { assert, assertStringIncludes } from "../tests/_assert.ts";
import { type BenchResult, chart, markdown, summary } from "./report.ts";
import { summarize } from "./stats.ts";

function timing(ms: number[]) {
  return {
    namespace: "ns",
    objects: ms.length,
    complete: true,
    totalMs: Math.max(...ms),
    latency: summarize(ms),
    perCluster: { "kwok-a": { totalMs: Math.max(...ms), latency: summarize(ms), missing: 0 } },
  };
}

const RESULT: BenchResult = {
  startedAt: "2026-01-01T00:00:00.000Z",
  durationSeconds: 60,
  machine: { cpus: 2, cpuModel: "cpu", memTotalMB: 1000, kernel: "6", loadAtStart: [0.5, 0.5, 0.5] },
  versions: { operator: "0.1.0" },
  params: { clusters: 1, objects: 3 },
  profiles: [{
    profile: "raised",
    clusters: ["kwok-a"],
    kcmQps: { "kwok-a": 500 },
    lowerBound: {
      ...timing([1000, 2000, 3000]),
      requests: 24,
      errors: [],
      apiserver: {},
      proc: { cpuSeconds: 1, peakRssMB: 50, connectionsOpened: 1 },
    },
    operator: {
      ...timing([1500, 2500, 3600]),
      operatorByCluster: {},
      apiserver: {},
      proc: { cpuSeconds: 2, peakRssMB: 60, connectionsOpened: 1 },
    },
    ratio: { total: 1.2, p50: 1.25, p99: 1.2 },
  }],
};

Deno.test("report: the Markdown table has both runs and the ratio; the chart and summary render", () => {
  const md = markdown(RESULT);
  assertStringIncludes(md, "| raised (--kube-api-qps 500) | lower bound | 3.0 | 2.0 | 3.0 | 3.0 |");
  assertStringIncludes(md, "| raised (--kube-api-qps 500) | operator | 3.6 | 2.5 | 3.6 | 3.6 |");
  assertStringIncludes(md, "**operator / lower bound** | **1.2**");
  const svg = chart(RESULT);
  assert(svg.startsWith("<svg") && svg.includes("kwok-a operator"), svg.slice(0, 200));
  assertStringIncludes(summary(RESULT), "ratio 1.2");
});

Deno.test("summary: late objects and watch restarts counted over every log line, not the 200 kept", () => {
  const late = '{"message":"not progressing: a pass has been due for 64 s; queued again"}';
  const restart = '{"message":"watch of jobs restarts after an error"}';
  const notable = [...Array(300).fill(late), ...Array(5).fill(restart)];
  const result: BenchResult = {
    ...RESULT,
    profiles: [{
      ...RESULT.profiles[0],
      operatorNotable: { count: notable.length, late: 300, lines: notable.slice(0, 200) },
    }],
  };
  assertStringIncludes(summary(result), 'operator log: 300 "not progressing", 5 watch restarts');
});

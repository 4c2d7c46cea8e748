/**
 * `deno task bench --scaling`: the same run for several cluster counts and total object counts, and how the cost
 * grows in each direction — peak RSS, idle RSS, CPU seconds of the creation run, requests per object, idle requests
 * per minute and the ratio to the lower bound — as a Markdown table, the per-cluster and per-object slopes of the
 * idle figures (least squares), and one SVG line chart per figure.
 *
 * @module
 */
import type { BenchResult } from "./report.ts";

/** One run of the matrix, reduced to the figures that are charted. */
export interface ScalingRow {
  clusters: number;
  /** Objects over all clusters. */
  objects: number;
  peakRssMB?: number;
  idleRssMB?: number;
  cpuSeconds?: number;
  requestsPerObject?: number;
  idleRequestsPerMinute?: number;
  ratio?: number;
  /** Results directory of the run. */
  dir: string;
  error?: string;
}

/** The figures charted, with their labels. */
export const FIGURES = [
  ["peakRssMB", "peak RSS over the run (MB)"],
  ["idleRssMB", "idle RSS (MB)"],
  ["cpuSeconds", "CPU seconds, creation run"],
  ["requestsPerObject", "API requests per object, creation run"],
  ["idleRequestsPerMinute", "idle API requests per minute"],
  ["ratio", "operator / lower bound (total time)"],
] as const;

type Figure = typeof FIGURES[number][0];

/** The row of one run (its first cluster set). */
export function scalingRow(r: BenchResult, dir: string): ScalingRow {
  const p = r.profiles[0];
  const clusters = Number(r.params.clusters), objects = clusters * Number(r.params.objects);
  const total = p?.operator?.operator?.total;
  return {
    clusters,
    objects,
    peakRssMB: p?.operatorProcess?.peakRssMB,
    idleRssMB: p?.idle?.proc.rssMB,
    cpuSeconds: p?.operator?.proc.cpuSeconds,
    requestsPerObject: total === undefined ? undefined : Math.round((total / objects) * 10) / 10,
    idleRequestsPerMinute: p?.idle?.perMinute.requests,
    ratio: p?.ratio?.total,
    dir,
    ...(p?.error ? { error: p.error.split("\n")[0] } : {}),
  };
}

/**
 * Least-squares fit of `figure = a + b * clusters + c * objects` over the rows that have it: the cost of one more
 * cluster (b) and of one more object (c). Undefined with fewer than three rows or when the rows do not vary in both
 * (by over 5 % of the largest value).
 */
export function slopes(
  rows: ScalingRow[],
  figure: Figure,
): { perCluster: number; perObject: number } | undefined {
  const pts = rows.filter((r) => typeof r[figure] === "number").map((
    r,
  ) => [r.clusters, r.objects, r[figure]!]);
  if (pts.length < 3) return undefined;
  // Each of clusters and objects must really vary (by over 5 % of its largest value): 3 x 333 against 1 x 1000
  // differ by rounding only, and a fit on that difference is noise.
  const varies = (k: number) => {
    const v = pts.map((p) => p[k]);
    return Math.max(...v) - Math.min(...v) > 0.05 * Math.max(...v);
  };
  if (!varies(0) || !varies(1)) return undefined;
  // Normal equations of the 3-parameter fit, solved by Cramer's rule.
  const s = (f: (p: number[]) => number) => pts.reduce((a, p) => a + f(p), 0);
  const n = pts.length, sx = s((p) => p[0]), sy = s((p) => p[1]), sz = s((p) => p[2]);
  const sxx = s((p) => p[0] * p[0]), syy = s((p) => p[1] * p[1]), sxy = s((p) => p[0] * p[1]);
  const sxz = s((p) => p[0] * p[2]), syz = s((p) => p[1] * p[2]);
  const det3 = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const A = [[n, sx, sy], [sx, sxx, sxy], [sy, sxy, syy]];
  const d = det3(A);
  if (Math.abs(d) < 1e-9) return undefined;
  const rhs = [sz, sxz, syz];
  const col = (k: number) => A.map((row, i) => row.map((v, j) => (j === k ? rhs[i] : v)));
  return { perCluster: det3(col(1)) / d, perObject: det3(col(2)) / d };
}

const COLORS = ["#2171b5", "#d94801", "#238b45", "#6a51a3", "#636363"];

function esc(t: string): string {
  return t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An SVG line chart of one figure: x = total objects, one line per cluster count. */
export function scalingChart(rows: ScalingRow[], figure: Figure, title: string): string {
  const pts = rows.filter((r) => typeof r[figure] === "number");
  const counts = [...new Set(pts.map((r) => r.clusters))].sort((a, b) => a - b);
  const xs = [...new Set(pts.map((r) => r.objects))].sort((a, b) => a - b);
  const maxY = Math.max(1e-9, ...pts.map((r) => r[figure]!)) * 1.1;
  const left = 60, top = 40, w = 420, h = 220;
  const x = (v: number) => left + (xs.length > 1 ? ((xs.indexOf(v)) / (xs.length - 1)) * w : w / 2);
  const y = (v: number) => top + h - (v / maxY) * h;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + w + 140}" height="${top + h + 50}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${top + h}" x2="${left + w}" y2="${top + h}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + h}" stroke="#999"/>`,
    ...xs.map((v) => `<text x="${x(v)}" y="${top + h + 16}" text-anchor="middle" fill="#555">${v}</text>`),
    `<text x="${left + w / 2}" y="${
      top + h + 34
    }" text-anchor="middle" fill="#555">objects (all clusters)</text>`,
    ...[0, 0.25, 0.5, 0.75, 1].map((k) =>
      `<text x="${left - 6}" y="${y(maxY * k) + 4}" text-anchor="end" fill="#555">${+(maxY * k).toPrecision(
        3,
      )}</text>`
    ),
  ];
  counts.forEach((c, i) => {
    const line = pts.filter((r) => r.clusters === c).sort((a, b) => a.objects - b.objects);
    const color = COLORS[i % COLORS.length];
    const d = line.map((r, k) => `${k ? "L" : "M"}${x(r.objects).toFixed(1)},${y(r[figure]!).toFixed(1)}`);
    out.push(`<path d="${d.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const r of line) {
      out.push(
        `<circle cx="${x(r.objects).toFixed(1)}" cy="${y(r[figure]!).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    }
    out.push(
      `<text x="${left + w + 12}" y="${top + 14 + i * 18}" fill="${color}">${c} cluster${
        c === 1 ? "" : "s"
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

const cell = (v: number | undefined) => (v === undefined ? "–" : String(v));

/** The Markdown summary: the table, the slopes, the charts. */
export function scalingMarkdown(rows: ScalingRow[]): string {
  const out = [
    "# Scaling: clusters x objects",
    "",
    "| clusters | objects (total) | peak RSS MB | idle RSS MB | CPU s (creation) | requests / object | idle requests / min | ratio to lower bound | run |",
    "|---|---|---|---|---|---|---|---|---|",
    ...[...rows].sort((a, b) => a.clusters - b.clusters || a.objects - b.objects).map((r) =>
      `| ${r.clusters} | ${r.objects} | ${cell(r.peakRssMB)} | ${cell(r.idleRssMB)} | ${
        cell(r.cpuSeconds)
      } | ${cell(r.requestsPerObject)} | ${cell(r.idleRequestsPerMinute)} | ${cell(r.ratio)} | ${
        r.error
          ? `FAILED: ${r.error.split("\n")[0]}`
          : `[${r.dir.split("/").pop()}](../${r.dir.split("/").pop()})`
      } |`
    ),
    "",
    "Slopes (least squares of figure = a + b x clusters + c x objects over the runs):",
    "",
    "| figure | per cluster (b) | per object (c) |",
    "|---|---|---|",
  ];
  for (const [f, label] of FIGURES) {
    const s = slopes(rows, f);
    out.push(`| ${label} | ${s ? s.perCluster.toFixed(3) : "–"} | ${s ? s.perObject.toFixed(4) : "–"} |`);
  }
  out.push("", ...FIGURES.map(([f, label]) => `![${label}](${f}.svg)`), "");
  return out.join("\n");
}

/**
 * Counters before and after a phase: the operator's own metrics (requests by cluster/verb/code, reconciles), each
 * API server's metrics (requests dispatched per benchmark identity via its FlowSchema, and every client's requests by
 * verb), and the operator process's CPU time. A phase's numbers are differences of two snapshots.
 *
 * @module
 */
import { diff, parseProm, readsWrites, type Sample, sum, sumBy } from "./prom.ts";
import type { ProcSampler } from "./proc.ts";

/** Counters at one moment. */
export interface Snapshot {
  at: number;
  operator?: Sample[];
  apiservers: Record<string, Sample[]>;
  cpuSeconds?: number;
}

/** Takes a snapshot. `operatorMetrics` fetches the operator's /metrics (undefined: no operator running). */
export async function snapshot(
  scrape: Record<string, () => Promise<string>>,
  operatorMetrics?: () => Promise<string>,
  proc?: ProcSampler,
  only?: string[],
): Promise<Snapshot> {
  const apiservers: Record<string, Sample[]> = {};
  await Promise.all(
    Object.entries(scrape).filter(([ctx]) => !only || only.includes(ctx)).map(async ([ctx, f]) => {
      for (let attempt = 1;; attempt++) {
        try {
          apiservers[ctx] = parseProm(await f());
          break;
        } catch {
          // Down (outage phase), or too slow under load: an empty snapshot leaves the cluster out of the counts.
          if (attempt === 3) {
            apiservers[ctx] = [];
            break;
          }
        }
      }
    }),
  );
  const operator = operatorMetrics ? parseProm(await operatorMetrics()) : undefined;
  return { at: Date.now(), operator, apiservers, cpuSeconds: proc?.sample()?.cpuSeconds };
}

/** The operator's requests of one phase. */
export interface OperatorCounts {
  /** Requests by verb (all clusters). */
  byVerb: Record<string, number>;
  /** Requests by `<resource> <verb>` (all clusters), e.g. `persistentvolumeclaims get`. */
  byResourceVerb: Record<string, number>;
  /** Requests by cluster. */
  byCluster: Record<string, number>;
  /** Requests by HTTP code (0: no answer). */
  byCode: Record<string, number>;
  total: number;
  reads: number;
  writes: number;
  reconciles: number;
  reconcileErrors: number;
}

/** What the API servers counted in one phase. */
export interface ApiServerCounts {
  /** Requests of the `bench-operator` identity (FlowSchema), non-watch and watch. */
  operator: { regular: number; watch: number; dispatched: number };
  /** Requests of the `bench-direct` identity. */
  direct: { regular: number; watch: number; dispatched: number };
  /** Every client's requests by verb (controller manager, scheduler, kwok, the benchmark, ...). */
  allByVerb: Record<string, number>;
}

const REQ = "mysql_operator_api_requests_total";

function flow(samples: Sample[], schema: string) {
  const byType = sumBy(samples, "apiserver_flowcontrol_request_execution_seconds_count", "type", {
    flow_schema: schema,
  });
  return {
    regular: byType.regular ?? 0,
    watch: byType.watch ?? 0,
    dispatched: sum(samples, "apiserver_flowcontrol_dispatched_requests_total", { flow_schema: schema }),
  };
}

function sub<T extends Record<string, number>>(a: T, b: T): T {
  const out = {} as Record<string, number>;
  for (const k of Object.keys(a)) out[k] = a[k] - (b[k] ?? 0);
  return out as T;
}

/** The operator's requests by `<resource> <verb>`. */
function byPair(samples: Sample[], match: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of samples) {
    if (x.name !== REQ || !Object.entries(match).every(([k, v]) => x.labels[k] === v)) continue;
    const key = `${x.labels.resource ?? "?"} ${x.labels.verb ?? "?"}`;
    out[key] = (out[key] ?? 0) + x.value;
  }
  return out;
}

/** The operator's counts between two snapshots (`cluster` restricts to one context). */
export function operatorCounts(
  before: Snapshot,
  after: Snapshot,
  cluster?: string,
): OperatorCounts | undefined {
  if (!before.operator || !after.operator) return undefined;
  const m: Record<string, string> = cluster ? { cluster } : {};
  const byVerb = diff(sumBy(after.operator, REQ, "verb", m), sumBy(before.operator, REQ, "verb", m));
  const byResourceVerb = diff(byPair(after.operator, m), byPair(before.operator, m));
  const byCluster = diff(sumBy(after.operator, REQ, "cluster", m), sumBy(before.operator, REQ, "cluster", m));
  const byCode = diff(sumBy(after.operator, REQ, "code", m), sumBy(before.operator, REQ, "code", m));
  const total = Object.values(byVerb).reduce((a, b) => a + b, 0);
  const rc = (name: string) => sum(after.operator!, name, m) - sum(before.operator!, name, m);
  return {
    byVerb,
    byResourceVerb,
    byCluster,
    byCode,
    total,
    ...readsWrites(byVerb),
    reconciles: rc("mysql_operator_reconciles_total"),
    reconcileErrors: rc("mysql_operator_reconcile_errors_total"),
  };
}

/** The API servers' counts between two snapshots, per context. */
export function apiServerCounts(before: Snapshot, after: Snapshot): Record<string, ApiServerCounts> {
  const out: Record<string, ApiServerCounts> = {};
  for (const [ctx, a] of Object.entries(after.apiservers)) {
    const b = before.apiservers[ctx];
    if (!b?.length || !a.length) continue; // not scraped at both ends (down)
    out[ctx] = {
      operator: sub(flow(a, "bench-operator"), flow(b, "bench-operator")),
      direct: sub(flow(a, "bench-direct"), flow(b, "bench-direct")),
      allByVerb: diff(
        sumBy(a, "apiserver_request_total", "verb"),
        sumBy(b, "apiserver_request_total", "verb"),
      ),
    };
  }
  return out;
}

/** The operator's gauge `name` for `cluster` in a snapshot. */
export function gauge(s: Snapshot, name: string, cluster: string): number | undefined {
  const v = s.operator?.find((x) => x.name === name && x.labels.cluster === cluster);
  return v?.value;
}

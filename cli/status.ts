/**
 * `status`: one table (or JSON) of every MySQL object across the selected contexts. Contexts are asked at once,
 * each with a deadline, so one dead cluster costs a few seconds and is listed with its error.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import type { MySQL } from "../api/mysql.ts";
import { CONDITIONS } from "../api/status.ts";
import { connectionFor, IN_CLUSTER } from "../runtime/kube/config.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { collectionPath } from "../runtime/kube/resources.ts";
import { oneOf, parse, STATUS_FLAGS } from "./args.ts";
import { resolveSelection } from "./select.ts";
import { HELP } from "./help.ts";

/** One row of the table. */
export interface StatusRow {
  cluster: string;
  namespace: string;
  name: string;
  ready: string;
  phase: string;
  storage: string;
  lastBackup: string;
  age: string;
  /** Creation time (JSON output). */
  created?: string;
}

/** Age in kubectl's style: 42s, 5m, 3h, 2d. */
export function age(from: string | undefined, now = Date.now()): string {
  const t = Date.parse(from ?? "");
  if (!t) return "<unknown>";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A row of an object. */
export function rowOf(cluster: string, o: MySQL, now = Date.now()): StatusRow {
  const ready = o.status?.conditions?.find((c) => c.type === CONDITIONS.ready)?.status ?? "Unknown";
  return {
    cluster,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    ready,
    phase: o.status?.phase ?? "Pending",
    storage: String(o.spec?.storage_size ?? ""),
    lastBackup: o.status?.lastBackupTime ?? "-",
    age: age(o.metadata.creationTimestamp, now),
    created: o.metadata.creationTimestamp,
  };
}

/** Renders rows as an aligned table. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("   ").trimEnd()).join("\n");
}

/** Runs `status`; resolves with the exit code (1 when a context failed). */
export async function statusCommand(args: string[]): Promise<number> {
  const f = parse(args, STATUS_FLAGS);
  if (f.help) {
    console.log(HELP.status);
    return 0;
  }
  const output = oneOf(f.output, "output", ["table", "json"], "table");
  const sel = resolveSelection(f);
  const targets = [
    ...(sel.inCluster ? [{ name: IN_CLUSTER, conn: () => Promise.resolve(sel.inCluster!) }] : []),
    ...sel.contexts.map((name) => ({ name, conn: () => connectionFor(sel.kubeconfig!, name) })),
  ];
  const namespaces = f.namespace?.length ? f.namespace : [undefined];
  const results = await Promise.all(targets.map(async (t) => {
    let client: KubeClient | undefined;
    try {
      client = new KubeClient(await t.conn());
      client.requestTimeoutMs = 10_000;
      const items: MySQL[] = [];
      for (const ns of namespaces) {
        const list = await client.list<MySQL>(collectionPath(MYSQL_RESOURCE, ns));
        items.push(...list.items);
      }
      return { cluster: t.name, rows: items.map((o) => rowOf(t.name, o)) };
    } catch (err) {
      return { cluster: t.name, rows: [], error: (err as Error).message };
    } finally {
      client?.close();
    }
  }));
  const rows = results.flatMap((r) => r.rows);
  const errors = results.filter((r) => r.error).map((r) => ({ cluster: r.cluster, error: r.error! }));
  if (output === "json") {
    console.log(JSON.stringify({ items: rows, errors }, null, 2));
  } else {
    const head = ["CLUSTER", "NAMESPACE", "NAME", "READY", "PHASE", "STORAGE", "LAST-BACKUP", "AGE"];
    const body = rows.map((
      r,
    ) => [r.cluster, r.namespace, r.name, r.ready, r.phase, r.storage, r.lastBackup, r.age]);
    console.log(rows.length ? table([head, ...body]) : "No MySQL objects found.");
    for (const e of errors) console.error(`error: ${e.error}`);
  }
  return errors.length ? 1 : 0;
}

/**
 * `status`: one table (or JSON) of every MySQL object across the selected contexts. Contexts are asked at once,
 * each with a deadline, so one dead cluster costs a few seconds and is listed with its error.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import type { MySQL } from "../api/mysql.ts";
import { CONDITIONS } from "../api/status.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { collectionPath, RESOURCES } from "../runtime/kube/resources.ts";
import { byCodeUnits } from "../runtime/order.ts";
import { oneOf, parse, STATUS_FLAGS } from "./args.ts";
import { resolveSelection, selectedTargets } from "./select.ts";
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

/** One cluster as `status` saw it: reachable or not, and who leads it (the operators' Leases there). */
export interface ClusterRow {
  cluster: string;
  reachable: boolean;
  /** Each operator Lease (`mysql-operator*`): its holder and when the holder last renewed it (its last contact). */
  leases: Array<{ namespace: string; name: string; holder: string; renewTime?: string }>;
  error?: string;
}

/** The operators' Leases of a cluster (names starting with the default lease name), holders first. */
async function operatorLeases(client: KubeClient): Promise<ClusterRow["leases"]> {
  const list = await client.list(collectionPath(RESOURCES.lease));
  return list.items
    // Member slots (runtime/membership.ts) say which replicas are live, not who leads.
    .filter((l) => l.metadata?.name?.startsWith("mysql-operator") && !/-member-\d+$/.test(l.metadata.name))
    .map((l) => ({
      namespace: l.metadata!.namespace!,
      name: l.metadata!.name!,
      holder: l.spec?.holderIdentity ?? "",
      ...(l.spec?.renewTime ? { renewTime: l.spec.renewTime } : {}),
    }))
    .sort((a, b) => Number(!a.holder) - Number(!b.holder) || byCodeUnits(a.name, b.name));
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
  const targets = selectedTargets(sel);
  const namespaces = f.namespace?.length ? f.namespace : [undefined];
  const results = await Promise.all(targets.map(async (t) => {
    let client: KubeClient | undefined;
    try {
      client = new KubeClient(await t.connect());
      client.requestTimeoutMs = 10_000;
      const items: MySQL[] = [];
      for (const ns of namespaces) {
        const list = await client.list<MySQL>(collectionPath(MYSQL_RESOURCE, ns));
        items.push(...list.items);
      }
      // Who leads the cluster is shown, not required: a user without access to Leases still gets the objects.
      const leases = await operatorLeases(client).catch(() => []);
      return {
        cluster: t.name,
        rows: items.map((o) => rowOf(t.name, o)),
        info: { cluster: t.name, reachable: true, leases } as ClusterRow,
      };
    } catch (err) {
      const error = (err as Error).message;
      return {
        cluster: t.name,
        rows: [],
        error,
        info: { cluster: t.name, reachable: false, leases: [], error } as ClusterRow,
      };
    } finally {
      client?.close();
    }
  }));
  const rows = results.flatMap((r) => r.rows);
  const errors = results.filter((r) => r.error).map((r) => ({ cluster: r.cluster, error: r.error! }));
  const clusters = results.map((r) => r.info);
  if (output === "json") {
    console.log(JSON.stringify({ items: rows, errors, clusters }, null, 2));
  } else {
    const head = ["CLUSTER", "NAMESPACE", "NAME", "READY", "PHASE", "STORAGE", "LAST-BACKUP", "AGE"];
    const body = rows.map((
      r,
    ) => [r.cluster, r.namespace, r.name, r.ready, r.phase, r.storage, r.lastBackup, r.age]);
    console.log(rows.length ? table([head, ...body]) : "No MySQL objects found.");
    const leader = (c: ClusterRow) => c.leases.find((l) => l.holder);
    console.log(
      "\n" + table([
        ["CLUSTER", "REACHABLE", "LEADER", "LAST-RENEW"],
        ...clusters.map((c) => [
          c.cluster,
          c.reachable ? "yes" : "no",
          leader(c)?.holder ?? "-",
          leader(c)?.renewTime ?? "-",
        ]),
      ]),
    );
    for (const e of errors) console.error(`error: ${e.error}`);
  }
  return errors.length ? 1 : 0;
}

/**
 * `backups`: every backup of every instance across the selected contexts and the object stores their MySQL
 * objects name, newest first (cli/backups_list.ts decides what is shown). Contexts are asked at once, each with a
 * deadline; a context or store that cannot be read is listed with its error and the exit status is 1, the others
 * are still shown. The stores' keys are read from the Secrets the objects name, with the user's own access.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import type { MySQL } from "../api/mysql.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { S3Bucket } from "../storage/s3.ts";
import { listStoreBackups } from "../storage/store_listing.ts";
import { oneOf, parse, STATUS_FLAGS } from "./args.ts";
import { resolveSelection, selectedTargets } from "./select.ts";
import { table } from "./status.ts";
import { HELP } from "./help.ts";
import {
  type BackupRow,
  humanBytes,
  sortRows,
  storeRows,
  storesOf,
  type StoreToList,
  volumeRow,
} from "./backups_list.ts";

/** A context that was read: its objects, and a client kept open to read the stores' Secrets. */
interface ContextRead {
  cluster: string;
  objects: MySQL[];
  client?: KubeClient;
  error?: string;
}

const decode = (b64: string | undefined) => b64 === undefined ? undefined : atob(b64);

/** The keys of a store from the first of its Secrets that can be read and holds both keys. */
async function keysOf(
  store: StoreToList,
  clients: Map<string, KubeClient>,
): Promise<{ accessKeyId: string; secretAccessKey: string } | string> {
  const problems: string[] = [];
  for (const s of store.secrets) {
    const client = clients.get(s.cluster);
    if (!client) continue;
    try {
      const secret = await client.getOrUndefined(objectPath(RESOURCES.secret, s.namespace, s.name));
      const accessKeyId = decode(secret?.data?.[s.idKey]);
      const secretAccessKey = decode(secret?.data?.[s.secretKey]);
      if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey };
      problems.push(`${s.cluster}: Secret ${s.namespace}/${s.name} ${secret ? "lacks a key" : "not found"}`);
    } catch (err) {
      problems.push(`${s.cluster}: Secret ${s.namespace}/${s.name}: ${(err as Error).message}`);
    }
  }
  return `no readable credentials (${problems.join("; ") || "no context reached"})`;
}

/** Runs `backups`; resolves with the exit code (1 when a context or store could not be read). */
export async function backupsCommand(args: string[]): Promise<number> {
  const f = parse(args, STATUS_FLAGS);
  if (f.help) {
    console.log(HELP.backups);
    return 0;
  }
  const output = oneOf(f.output, "output", ["table", "json"], "table");
  const sel = resolveSelection(f);
  const targets = selectedTargets(sel);
  const namespaces = f.namespace?.length ? f.namespace : [undefined];
  const contexts: ContextRead[] = await Promise.all(targets.map(async (t) => {
    let client: KubeClient | undefined;
    try {
      client = new KubeClient(await t.connect());
      client.requestTimeoutMs = 10_000;
      const objects: MySQL[] = [];
      for (const ns of namespaces) {
        objects.push(...(await client.list<MySQL>(collectionPath(MYSQL_RESOURCE, ns))).items);
      }
      return { cluster: t.name, objects, client };
    } catch (err) {
      client?.close();
      return { cluster: t.name, objects: [], error: (err as Error).message };
    }
  }));
  const clients = new Map(contexts.filter((c) => c.client).map((c) => [c.cluster, c.client!]));
  const seen = contexts.flatMap((c) => c.objects.map((mysql) => ({ cluster: c.cluster, mysql })));
  const errors = contexts.filter((c) => c.error).map((c) => ({ where: c.cluster, error: c.error! }));
  const rows: BackupRow[] = seen.map((s) => volumeRow(s.cluster, s.mysql)).filter((r) => r !== undefined);
  try {
    await Promise.all(
      storesOf(seen).map(async (store) => {
        const keys = await keysOf(store, clients);
        if (typeof keys === "string") {
          errors.push({ where: store.id, error: keys });
          return;
        }
        try {
          const bucket = new S3Bucket({ ...store, ...keys });
          rows.push(...storeRows(store, await listStoreBackups(bucket, store.prefix)));
        } catch (err) {
          errors.push({ where: store.id, error: (err as Error).message });
        }
      }),
    );
  } finally {
    for (const c of clients.values()) c.close();
  }
  const sorted = sortRows(rows);
  if (output === "json") {
    console.log(JSON.stringify({ items: sorted, errors }, null, 2));
  } else {
    const head = ["TIME", "CLUSTER", "INSTANCE", "TARGET", "SIZE", "VERIFIED", "FILE"];
    const body = sorted.map((
      r,
    ) => [r.time, r.cluster, r.instance, r.target, humanBytes(r.bytes), r.verified, r.file]);
    console.log(sorted.length ? table([head, ...body]) : "No backups found.");
    for (const e of errors) console.error(`error: ${e.where}: ${e.error}`);
  }
  return errors.length ? 1 : 0;
}

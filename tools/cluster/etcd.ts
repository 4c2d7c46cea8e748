/**
 * etcd maintenance through etcd's v3 JSON gateway on a cluster's client port (no etcdctl needed).
 *
 * Why it exists: a local cluster is stopped and started again run after run, and its etcd is never compacted and
 * defragmented by anyone while it is stopped. The memory test writes 540 MB of Secrets per run; after a day of runs
 * mo-test-3's database file held 3.1 GB, mostly free pages, and etcd reads the whole file when it starts (4 GB
 * resident): its API server then took longer than kwokctl's 2 minutes to serve, and the tests that start it failed.
 * Putting a cluster away (`deno task cluster stop --all`, the end of `deno task test`) now compacts and
 * defragments it first, so it starts again in seconds whatever the runs before it wrote.
 *
 * @module
 */
import type { ClusterPaths } from "./paths.ts";
import { readPortRecord } from "./ports.ts";

/** What {@linkcode compactAndDefragment} did. */
export interface Maintenance {
  /** The revision compacted at (the store's current one). */
  revision: number;
  /** Size of the database file before and after, in bytes. */
  dbBytesBefore: number;
  dbBytesAfter: number;
}

/** The client URL of a cluster's etcd, from the ports the cluster tool recorded. */
export async function etcdUrl(paths: ClusterPaths, cluster: string): Promise<string> {
  const ports = (await readPortRecord(paths))[cluster];
  if (!ports) throw new Error(`${cluster}: no ports recorded`);
  return `http://127.0.0.1:${ports.etcdPort}`;
}

/** One gateway call; etcd answers errors as JSON with a message. */
async function post(
  etcd: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${etcd}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The store's current revision (any read's answer header carries it). */
export async function currentRevision(etcd: string): Promise<number> {
  const range = await post(etcd, "/v3/kv/range", { key: btoa("/"), limit: 1 }, 10_000);
  return Number((range.header as { revision: string }).revision);
}

/**
 * Compacts at the current revision and waits until the old revisions are physically gone. Every watch that
 * resumes from before it is answered 410 Gone. A revision compacted already is not an error.
 */
export async function compactNow(etcd: string): Promise<number> {
  const revision = await currentRevision(etcd);
  try {
    await post(etcd, "/v3/kv/compaction", { revision: String(revision), physical: true }, 60_000);
  } catch (e) {
    if (!String(e).includes("compacted")) throw e;
  }
  return revision;
}

/** Size of the database file in bytes (`dbSize` of the maintenance status). */
export async function dbBytes(etcd: string): Promise<number> {
  return Number((await post(etcd, "/v3/maintenance/status", {}, 10_000)).dbSize);
}

/**
 * Compacts a running cluster's etcd at its current revision and defragments it, returning the sizes. Meant for a
 * cluster nobody uses at the moment (defragmenting blocks etcd while it runs: seconds for a few hundred MB).
 */
export async function compactAndDefragment(paths: ClusterPaths, cluster: string): Promise<Maintenance> {
  const etcd = await etcdUrl(paths, cluster);
  const dbBytesBefore = await dbBytes(etcd);
  const revision = await compactNow(etcd);
  await post(etcd, "/v3/maintenance/defragment", {}, 300_000);
  return { revision, dbBytesBefore, dbBytesAfter: await dbBytes(etcd) };
}

/**
 * {@linkcode compactAndDefragment} on each named cluster before it is put away, best effort: a cluster whose etcd
 * does not answer is said and skipped (it is stopped all the same).
 */
export async function compactForStop(
  paths: ClusterPaths,
  names: string[],
  log: (message: string) => void,
): Promise<void> {
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  for (const name of names) {
    try {
      const m = await compactAndDefragment(paths, name);
      if (m.dbBytesBefore - m.dbBytesAfter > 10e6) {
        log(`${name}: etcd compacted and defragmented: ${mb(m.dbBytesBefore)} → ${mb(m.dbBytesAfter)}`);
      }
    } catch (e) {
      log(`${name}: etcd not compacted (${e instanceof Error ? e.message : e})`);
    }
  }
}

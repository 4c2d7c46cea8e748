/**
 * Clusters that come and go while the operator runs: from a directory of kubeconfig files (`run --kubeconfig-dir
 * DIR`: a file that appears adds its contexts, a changed one re-credentials them, a removed one stops them) or from
 * labelled Secrets holding a kubeconfig (`run --cluster-secrets-selector LABEL`, the way Argo CD registers
 * clusters), which may pause their cluster with an annotation. What a source offers is read by {@linkcode scanKubeconfigDir} / {@linkcode scanClusterSecrets}; what
 * to start, restart and stop is decided by the pure {@linkcode planClusters}. An entry that cannot be read, or a
 * context another entry already offers, is reported and never affects the other clusters.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { connectionFor, type KubeConfig, loadKubeconfig } from "./kube/config.ts";
import { Kubeconfig } from "./kube/kubeconfig.ts";
import type { Connection, KubeClient, KubeObject } from "./kube/client.ts";
import { collectionPath, RESOURCES } from "./kube/resources.ts";
import { byCodeUnits } from "./order.ts";

/** A cluster the directory offers. */
export interface OfferedCluster {
  /** The context name: the cluster's name everywhere (metrics, logs, lease). */
  name: string;
  /** The file it comes from. */
  file: string;
  /** Changes whenever the connection (server, CA, credentials) or the pause does. */
  fingerprint: string;
  /** Its connection (run only for a cluster to start: an exec plugin runs then, not on every scan). */
  connect(): Promise<Connection>;
  /** Paused on purpose (the Secret's `otus.homework/reconcile: paused` annotation). */
  paused?: boolean;
}

/** What a scan found: the clusters offered and what could not be used, by file. */
export interface DirScan {
  clusters: OfferedCluster[];
  errors: Array<{ file: string; error: string }>;
}

/** What to do so that the running clusters are the offered ones. */
export interface ClusterPlan {
  start: OfferedCluster[];
  /** Running with other credentials (or another server): stopped, then started with these. */
  restart: OfferedCluster[];
  stop: string[];
}

/**
 * The plan from `running` (name → fingerprint) to `offered`. Clusters served from elsewhere (`--context`,
 * `--in-cluster`: `fixed`) are never touched, and a context of the same name in the directory is ignored.
 */
export function planClusters(
  running: ReadonlyMap<string, string>,
  offered: OfferedCluster[],
  fixed: ReadonlySet<string> = new Set(),
): ClusterPlan {
  const wanted = new Map(offered.filter((c) => !fixed.has(c.name)).map((c) => [c.name, c]));
  const plan: ClusterPlan = { start: [], restart: [], stop: [] };
  for (const [name, fingerprint] of running) {
    const c = wanted.get(name);
    if (!c) plan.stop.push(name);
    else if (c.fingerprint !== fingerprint) plan.restart.push(c);
  }
  for (const [name, c] of wanted) if (!running.has(name)) plan.start.push(c);
  return plan;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads every kubeconfig file of `dir` (names starting with a dot are skipped: editors' temporary files, and the
 * `..data` links of a mounted Secret), in name order; a context already offered by an earlier file is an error of
 * the later one.
 */
export async function scanKubeconfigDir(dir: string): Promise<DirScan> {
  const scan: DirScan = { clusters: [], errors: [] };
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(".") && !e.isDirectory) files.push(e.name);
    }
  } catch (err) {
    scan.errors.push({ file: dir, error: `cannot read the directory: ${(err as Error).message}` });
    return scan;
  }
  const seen = new Map<string, string>();
  for (const name of files.sort()) {
    const file = `${dir}/${name}`;
    try {
      await offer(loadKubeconfig({ path: file }), file, false, seen, scan);
    } catch (err) {
      scan.errors.push({ file, error: (err as Error).message });
    }
  }
  return scan;
}

/** Adds every context of `kc` (from `file`) to `scan`; one offered already by another entry is an error of this one. */
async function offer(
  kc: KubeConfig,
  file: string,
  paused: boolean,
  seen: Map<string, string>,
  scan: DirScan,
): Promise<void> {
  for (const ctx of kc.getContexts()) {
    const first = seen.get(ctx.name);
    if (first) {
      scan.errors.push({ file, error: `context "${ctx.name}" is already offered by ${first}; ignored here` });
      continue;
    }
    try {
      const cluster = kc.getCluster(ctx.cluster);
      const user = kc.getUser(ctx.user);
      if (!cluster) {
        throw new Error(`context "${ctx.name}": its cluster "${ctx.cluster}" is not in the kubeconfig`);
      }
      seen.set(ctx.name, file);
      // The entries as written (a token, an exec plugin's command) and the TLS files they point at; not the
      // headers of the moment, which an exec plugin or a token file may change without any edit. Nothing is
      // connected here: a scan runs every 2 s, and an exec plugin (or client-node, which runs it) must not.
      const read = (f: string | undefined) => f ? Deno.readTextFileSync(f) : undefined;
      const material = {
        cluster,
        user,
        ca: read(cluster.caFile),
        cert: read(user?.certFile),
        key: read(user?.keyFile),
        paused,
      };
      scan.clusters.push({
        name: ctx.name,
        file,
        fingerprint: await sha256(JSON.stringify(material)),
        connect: () => connectionFor(kc, ctx.name),
        ...(paused ? { paused } : {}),
      });
    } catch (err) {
      scan.errors.push({ file, error: (err as Error).message });
    }
  }
}

/** The key of a cluster Secret that holds its kubeconfig. */
export const KUBECONFIG_KEY = "kubeconfig";

/**
 * Reads the Secrets of `namespace` matching `selector` (e.g. `mysql-operator/cluster=true`), each holding a
 * kubeconfig under {@linkcode KUBECONFIG_KEY}, in name order. Entries are named `secret/<namespace>/<name>`.
 */
export async function scanClusterSecrets(
  client: KubeClient,
  namespace: string,
  selector: string,
  /** An annotation that pauses the Secret's cluster unless it says `active` (the controller's word for it). */
  pauseAnnotation?: string,
): Promise<DirScan> {
  const scan: DirScan = { clusters: [], errors: [] };
  let items: KubeObject[];
  try {
    items =
      (await client.list(collectionPath(RESOURCES.secret, namespace), { labelSelector: selector })).items;
  } catch (err) {
    scan.errors.push({
      file: `secrets/${namespace}`,
      error: `cannot list the cluster Secrets: ${(err as Error).message}`,
    });
    return scan;
  }
  const seen = new Map<string, string>();
  const byName = [...items].sort((a, b) => byCodeUnits(String(a.metadata?.name), String(b.metadata?.name)));
  for (const secret of byName) {
    const file = `secret/${namespace}/${secret.metadata?.name}`;
    try {
      const data = secret.data?.[KUBECONFIG_KEY];
      if (!data) throw new Error(`no ${KUBECONFIG_KEY} key`);
      const text = new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
      const pause = pauseAnnotation ? secret.metadata?.annotations?.[pauseAnnotation] : undefined;
      await offer(Kubeconfig.parse(text), file, pause !== undefined && pause !== "active", seen, scan);
    } catch (err) {
      scan.errors.push({ file, error: (err as Error).message });
    }
  }
  return scan;
}

/**
 * Scans now, then again on every file-system event in `dir` (if any; debounced) and every `pollMs` (events can be
 * missed, e.g. on network file systems; Secrets have none here), calling `apply` with each scan, one at a time,
 * until `signal`.
 */
export async function follow(
  scanAll: () => Promise<DirScan>,
  dir: string | undefined,
  pollMs: number,
  signal: AbortSignal,
  apply: (scan: DirScan) => Promise<void>,
  log: Logger,
): Promise<void> {
  let wake: () => void = () => {};
  let watcher: Deno.FsWatcher | undefined;
  try {
    if (dir) {
      const w = watcher = Deno.watchFs(dir);
      (async () => {
        for await (const _ of w) wake();
      })().catch(() => {});
    }
  } catch (err) {
    log.warn("cannot watch {dir} ({error}): reading it every {ms} ms", {
      dir,
      error: (err as Error).message,
      ms: pollMs,
    });
  }
  const reported = new Set<string>();
  // One listener for the whole loop (one per wait would pile up, a wait every 2 s for the process's life).
  let wakeNow: () => void = () => {};
  signal.addEventListener("abort", () => wakeNow(), { once: true });
  while (!signal.aborted) {
    const scan = await scanAll();
    for (const e of scan.errors) {
      const key = `${e.file}: ${e.error}`;
      if (!reported.has(key)) log.error("kubeconfig {file}: {error}", { file: e.file, error: e.error });
    }
    reported.clear();
    for (const e of scan.errors) reported.add(`${e.file}: ${e.error}`);
    await apply(scan);
    if (signal.aborted) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      wakeNow = () => {
        clearTimeout(t);
        resolve();
      };
      wake = () => {
        clearTimeout(t);
        // Editors and kubectl write in steps: read once the burst is over.
        setTimeout(resolve, 200);
      };
    });
  }
  watcher?.close();
}

/**
 * Clusters from a directory of kubeconfig files (`run --kubeconfig-dir DIR`), followed while the operator runs:
 * a file that appears adds its contexts, a changed one re-credentials them, a removed one stops them. What the
 * directory offers is read by {@linkcode scanKubeconfigDir}; what to start, restart and stop is decided by the pure
 * {@linkcode planClusters}. A file that cannot be read, or a context another file already offers, is reported and
 * never affects the other clusters.
 *
 * @module
 */
import { connectionFor, loadKubeconfig } from "./kube/config.ts";
import type { Connection } from "./kube/client.ts";

/** A cluster the directory offers. */
export interface OfferedCluster {
  /** The context name: the cluster's name everywhere (metrics, logs, lease). */
  name: string;
  /** The file it comes from. */
  file: string;
  /** Changes whenever the connection (server, CA, credentials) does. */
  fingerprint: string;
  connection: Connection;
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
      const kc = loadKubeconfig({ path: file });
      for (const ctx of kc.getContexts()) {
        const first = seen.get(ctx.name);
        if (first) {
          scan.errors.push({
            file,
            error: `context "${ctx.name}" is already offered by ${first}; ignored here`,
          });
          continue;
        }
        try {
          const connection = await connectionFor(kc, ctx.name);
          seen.set(ctx.name, file);
          // The entries as written (a token, an exec plugin's command) and the TLS material they point at; not
          // the headers of the moment, which an exec plugin or a token file may change without any edit.
          const material = {
            cluster: kc.getCluster(ctx.cluster),
            user: kc.getUser(ctx.user),
            ca: connection.caPem,
            cert: connection.certPem,
            key: connection.keyPem,
          };
          scan.clusters.push({
            name: ctx.name,
            file,
            fingerprint: await sha256(JSON.stringify(material)),
            connection,
          });
        } catch (err) {
          scan.errors.push({ file, error: (err as Error).message });
        }
      }
    } catch (err) {
      scan.errors.push({ file, error: (err as Error).message });
    }
  }
  return scan;
}

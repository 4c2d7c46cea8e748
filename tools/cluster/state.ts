/**
 * What kwokctl left on disk about a cluster: whether it exists, its component processes and its API server URL.
 * Reading the workdir (instead of asking kwokctl) is instant and works while the cluster is down.
 *
 * @module
 */
import { parse } from "yaml";
import { clusterDir, type ClusterPaths } from "./paths.ts";

/** One control-plane process kwokctl started. */
export interface ComponentProcess {
  /** Component name (`kube-apiserver`, `etcd`, ...), from the pid file's name. */
  name: string;
  /** Its process id. */
  pid: number;
  /** Whether that process is alive (and not a zombie). */
  alive: boolean;
}

/** A cluster as found in the workdir. */
export interface ClusterState {
  /** Cluster name (`kwokctl --name`). */
  name: string;
  /** The cluster directory exists. */
  exists: boolean;
  /** kwokctl finished writing it (its `kwok.yaml` and `kubeconfig.yaml` exist). */
  configured: boolean;
  /** Every component has a live process. */
  running: boolean;
  /** The component processes (empty when never started or deleted). */
  components: ComponentProcess[];
  /** API server URL from the cluster's kubeconfig. */
  server?: string;
}

/** The components every cluster of this tool runs. */
export const COMPONENTS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok-controller",
];

/** Whether a process is alive; zombies (exited, not yet reaped) count as dead. */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Reads the pid of one component (`<clusterDir>/pids/<component>.pid`); undefined when there is none. */
export async function componentPid(
  paths: ClusterPaths,
  name: string,
  component: string,
): Promise<number | undefined> {
  try {
    const n = Number.parseInt(
      (await Deno.readTextFile(`${clusterDir(paths, name)}/pids/${component}.pid`)).trim(),
    );
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Inspects one cluster. */
export async function clusterState(paths: ClusterPaths, name: string): Promise<ClusterState> {
  const dir = clusterDir(paths, name);
  if (!(await exists(dir))) return { name, exists: false, configured: false, running: false, components: [] };
  const configured = (await exists(`${dir}/kwok.yaml`)) && (await exists(`${dir}/kubeconfig.yaml`));
  const components: ComponentProcess[] = [];
  for (const c of COMPONENTS) {
    const pid = await componentPid(paths, name, c);
    if (pid !== undefined) components.push({ name: c, pid, alive: processAlive(pid) });
  }
  const running = configured && COMPONENTS.every((c) => components.some((p) => p.name === c && p.alive));
  let server: string | undefined;
  if (configured) {
    try {
      const kc = parse(await Deno.readTextFile(`${dir}/kubeconfig.yaml`)) as {
        clusters?: { cluster?: { server?: string } }[];
      };
      server = kc.clusters?.[0]?.cluster?.server;
    } catch { /* status only */ }
  }
  return { name, exists: true, configured, running, components, server };
}

/** Names of every cluster in the workdir, sorted. */
export async function listClusterNames(paths: ClusterPaths): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${paths.workdir}/clusters`)) if (e.isDirectory) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

/**
 * Where the local-cluster tool keeps its state: the binary cache (owned by build.sh), kwokctl's workdir, the
 * merged kubeconfig and the lock. Everything lives outside the repository, under
 * `${MYSQL_OPERATOR_CACHE:-${XDG_CACHE_HOME:-~/.cache}/mysql-operator}`.
 *
 * @module
 */
import { run } from "./run.ts";

/** Absolute path of the build script; the single source of the pinned versions and cache layout. */
export const BUILD_SCRIPT: string = new URL("./build.sh", import.meta.url).pathname;

/** The directories of the binary cache, as build.sh reports them. */
export interface BinDirs {
  /** Root of the cache (`~/.cache/mysql-operator`). */
  cache: string;
  /** kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy. */
  k8s: string;
  /** etcd, etcdctl. */
  etcd: string;
  /** kwok, kwokctl. */
  kwok: string;
  /** Symlinks to every binary above: the project bin dir, put first on PATH. */
  bin: string;
}

/** Every path the tool uses. */
export interface ClusterPaths extends BinDirs {
  /** KWOK_WORKDIR: kwokctl's state; one directory per cluster under `clusters/`. */
  workdir: string;
  /** The one kubeconfig with a context per cluster (`kwok-<name>`). */
  kubeconfig: string;
  /** Lock file that serialises cluster creation, start and deletion across processes. */
  lock: string;
}

let cached: Promise<ClusterPaths> | undefined;

/** Returns the tool's paths (asks build.sh once per process). */
export function clusterPaths(): Promise<ClusterPaths> {
  cached ??= loadPaths();
  return cached;
}

async function loadPaths(): Promise<ClusterPaths> {
  const out = await run("bash", [BUILD_SCRIPT, "--dirs"]);
  const kv = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const get = (k: string): string => {
    const v = kv.get(k);
    if (!v) throw new Error(`${BUILD_SCRIPT} --dirs did not print ${k}`);
    return v;
  };
  const cache = get("CACHE");
  return {
    cache,
    k8s: get("K8S_DIR"),
    etcd: get("ETCD_DIR"),
    kwok: get("KWOK_DIR"),
    bin: get("BIN_DIR"),
    workdir: `${cache}/kwok`,
    kubeconfig: `${cache}/kubeconfig.yaml`,
    lock: `${cache}/clusters.lock`,
  };
}

/** Directory kwokctl keeps one cluster in (`<KWOK_WORKDIR>/clusters/<name>`). */
export function clusterDir(paths: ClusterPaths, name: string): string {
  return `${paths.workdir}/clusters/${name}`;
}

/** kwokctl's context name for a cluster. */
export function contextName(name: string): string {
  return `kwok-${name}`;
}

/** Environment for kwokctl and kubectl: the project bin dir first on PATH, kwokctl state in our workdir. */
export function toolEnv(paths: ClusterPaths): Record<string, string> {
  return {
    PATH: `${paths.bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    KWOK_WORKDIR: paths.workdir,
  };
}

/**
 * Thin wrappers over the cached kwokctl and kubectl, always with the project bin dir first on PATH and
 * KWOK_WORKDIR in the cache, and never touching ~/.kube/config (`--kubeconfig=`; the tool writes its own).
 *
 * @module
 */
import { clusterDir, type ClusterPaths, contextName, toolEnv } from "./paths.ts";
import { run, type RunOptions } from "./run.ts";

/** Runs the cached kwokctl. */
export function kwokctl(paths: ClusterPaths, args: string[], opts: RunOptions = {}): Promise<string> {
  return run(`${paths.kwok}/kwokctl`, args, { ...opts, env: { ...toolEnv(paths), ...opts.env } });
}

/** Runs the cached kubectl against one cluster's context of the merged kubeconfig. */
export function kubectlIn(
  paths: ClusterPaths,
  name: string,
  args: string[],
  opts: RunOptions = {},
): Promise<string> {
  return run(`${paths.k8s}/kubectl`, [
    "--kubeconfig",
    paths.kubeconfig,
    "--context",
    contextName(name),
    ...args,
  ], {
    ...opts,
    env: { ...toolEnv(paths), ...opts.env },
  });
}

/**
 * Runs the cached kubectl with the cluster's own kubeconfig (`<clusterDir>/kubeconfig.yaml`), which exists
 * before the merged one has the cluster's context.
 */
export function kubectlDirect(
  paths: ClusterPaths,
  name: string,
  args: string[],
  opts: RunOptions = {},
): Promise<string> {
  return run(
    `${paths.k8s}/kubectl`,
    ["--kubeconfig", `${clusterDir(paths, name)}/kubeconfig.yaml`, ...args],
    {
      ...opts,
      env: { ...toolEnv(paths), ...opts.env },
    },
  );
}

/** `kwokctl get kubeconfig`: the cluster's kubeconfig with certificates embedded (context `kwok-<name>`). */
export function exportKubeconfig(paths: ClusterPaths, name: string): Promise<string> {
  return kwokctl(paths, ["get", "kubeconfig", "--name", name]);
}

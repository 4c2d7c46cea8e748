/**
 * Glue between `deno task cluster ... --real-node` and tools/real_node/mod.ts (another module: a real kubelet +
 * containerd joining the FIRST local cluster). Imported dynamically, so this tool works without that module;
 * asking for `--real-node` without it gives a clear error.
 *
 * @module
 */
import { kubectlIn } from "./kwokctl.ts";
import { FAKE_NODE_ANNOTATION, type Logger, stopCluster } from "./clusters.ts";
import { clusterDir, type ClusterPaths, contextName } from "./paths.ts";

/** The options tools/real_node/mod.ts takes (its contract). */
export interface RealNodeOptions {
  /** kwokctl cluster name. */
  clusterName: string;
  /** `<KWOK_WORKDIR>/clusters/<name>` (its pki/ holds the cluster CA). */
  clusterDir: string;
  /** The merged kubeconfig. */
  kubeconfig: string;
  /** Context of the cluster in it. */
  context: string;
  /** Directory with kubelet, kube-proxy, kubectl. */
  k8sBinDir: string;
  /** Where the real node keeps its state. */
  stateDir: string;
}

interface RealNodeModule {
  realNodeUp(o: RealNodeOptions): Promise<unknown>;
  realNodeDown(o: RealNodeOptions): Promise<unknown>;
  realNodeStatus(o: RealNodeOptions): Promise<unknown>;
  realNodeOwner(): Promise<string | undefined>;
}

const MODULE_URL = new URL("../real_node/mod.ts", import.meta.url);

/** Loads tools/real_node/mod.ts, or throws a clear error when it is missing or incomplete. */
export async function loadRealNode(): Promise<RealNodeModule> {
  try {
    await Deno.stat(MODULE_URL);
  } catch {
    throw new Error(
      `--real-node needs ${MODULE_URL.pathname}, which does not exist yet (the real-node module is not in this ` +
        `checkout); run without --real-node`,
    );
  }
  // A non-literal specifier keeps `deno check` of this tool independent of that module.
  const href: string = MODULE_URL.href;
  const mod = await import(href) as Partial<RealNodeModule>;
  for (const f of ["realNodeUp", "realNodeDown", "realNodeStatus", "realNodeOwner"] as const) {
    if (typeof mod[f] !== "function") throw new Error(`${MODULE_URL.pathname} does not export ${f}()`);
  }
  return mod as RealNodeModule;
}

/** The options for the real node of cluster `name`. */
export function realNodeOptions(paths: ClusterPaths, name: string): RealNodeOptions {
  return {
    clusterName: name,
    clusterDir: clusterDir(paths, name),
    kubeconfig: paths.kubeconfig,
    context: contextName(name),
    k8sBinDir: paths.k8s,
    stateDir: `${paths.cache}/real-node/${name}`,
  };
}

/** Taints the cluster's fake nodes NoSchedule, so pods without a toleration land on the real node. */
export async function taintFakeNodes(paths: ClusterPaths, name: string): Promise<void> {
  const out = await kubectlIn(paths, name, ["get", "nodes", "-o", "json"]);
  const fake =
    (JSON.parse(out).items as { metadata: { name: string; annotations?: Record<string, string> } }[])
      .filter((n) => n.metadata.annotations?.[FAKE_NODE_ANNOTATION] === "fake")
      .map((n) => n.metadata.name);
  if (fake.length === 0) return;
  await kubectlIn(paths, name, [
    "taint",
    "nodes",
    ...fake,
    `${FAKE_NODE_ANNOTATION}=fake:NoSchedule`,
    "--overwrite",
  ]);
}

/**
 * Stops the named clusters (data kept on disk), each on its own (one failure does not keep the others running).
 * The real node is taken down first when its cluster is one of `realNodeOf` (default: the named clusters): a
 * kubelet and its pods left serving a stopped cluster are only load. Throws the first failure at the end.
 */
export async function stopClustersAndRealNode(
  paths: ClusterPaths,
  names: string[],
  log: Logger,
  realNodeOf: string[] = names,
): Promise<void> {
  const errors: unknown[] = [];
  try {
    const rn = await loadRealNode();
    const owner = await rn.realNodeOwner();
    if (owner && realNodeOf.includes(owner)) {
      await rn.realNodeDown(realNodeOptions(paths, owner));
      log(`real node: removed from cluster ${owner}`);
    }
  } catch (e) {
    errors.push(e);
  }
  for (const n of names) await stopCluster(n, log).catch((e) => errors.push(e));
  if (errors.length) throw errors[0];
}

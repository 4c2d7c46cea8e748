/**
 * Turns selection flags into connections: kubeconfig contexts and, optionally, the in-cluster one.
 *
 * @module
 */
import type { KubeConfig } from "../runtime/kube/config.ts";
import { connectionFor, IN_CLUSTER, loadKubeconfig, selectContexts } from "../runtime/kube/config.ts";
import { inClusterConnection } from "../runtime/kube/in_cluster.ts";
import type { Connection } from "../runtime/kube/client.ts";

/** The parsed selection. */
export interface Selection {
  kubeconfig?: KubeConfig;
  contexts: string[];
  inCluster?: Connection;
}

/** Resolves the selection flags. */
export function resolveSelection(flags: {
  kubeconfig?: string;
  context?: string[];
  "all-contexts"?: boolean;
  "in-cluster"?: boolean;
}): Selection {
  const inCluster = flags["in-cluster"] ? inClusterConnection() : undefined;
  const wantsKubeconfig = !inCluster || flags.kubeconfig || flags.context?.length || flags["all-contexts"];
  if (!wantsKubeconfig) return { contexts: [], inCluster };
  const kubeconfig = loadKubeconfig({ path: flags.kubeconfig });
  const contexts = selectContexts(kubeconfig, flags.context ?? [], Boolean(flags["all-contexts"]));
  return { kubeconfig, contexts, inCluster };
}

/** One selected cluster: its name (the context, or `in-cluster`) and how to connect to it. */
export interface SelectedTarget {
  name: string;
  connect: () => Promise<Connection>;
}

/** The selected clusters in order: the in-cluster one first (when asked for), then the contexts. */
export function selectedTargets(selection: Selection): SelectedTarget[] {
  return [
    ...(selection.inCluster
      ? [{ name: IN_CLUSTER, connect: () => Promise.resolve(selection.inCluster!) }]
      : []),
    ...selection.contexts.map((name) => ({
      name,
      connect: () => connectionFor(selection.kubeconfig!, name),
    })),
  ];
}

/**
 * Writes the one kubeconfig of the local clusters: a context per cluster of the workdir (`kwok-<name>`), with
 * certificates embedded, rebuilt from kwokctl after every change and replaced atomically (readers never see a
 * half-written file, and a deleted or edited file heals on the next `up`).
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { exportKubeconfig } from "./kwokctl.ts";
import type { ClusterPaths } from "./paths.ts";
import { clusterState, listClusterNames } from "./state.ts";

interface Named {
  name: string;
  [k: string]: unknown;
}
interface Kubeconfig {
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  "current-context"?: string;
}

/** Merges single-cluster kubeconfigs into one (later entries with the same name win). */
export function mergeKubeconfigs(docs: string[], currentContext?: string): string {
  const byName = (list: Named[]) => new Map(list.map((e) => [e.name, e]));
  const clusters = byName([]), users = byName([]), contexts = byName([]);
  for (const doc of docs) {
    const kc = (parse(doc) ?? {}) as Kubeconfig;
    for (const c of kc.clusters ?? []) clusters.set(c.name, c);
    for (const u of kc.users ?? []) users.set(u.name, u);
    for (const c of kc.contexts ?? []) contexts.set(c.name, c);
  }
  const names = [...contexts.keys()];
  const merged = {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    "current-context": currentContext && contexts.has(currentContext) ? currentContext : names[0] ?? "",
  };
  return stringify(merged);
}

/** Context names present in a kubeconfig file (empty when it does not exist). */
export async function kubeconfigContexts(path: string): Promise<string[]> {
  try {
    const kc = (parse(await Deno.readTextFile(path)) ?? {}) as Kubeconfig;
    return (kc.contexts ?? []).map((c) => c.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function currentContextOf(path: string): Promise<string | undefined> {
  try {
    return ((parse(await Deno.readTextFile(path)) ?? {}) as Kubeconfig)["current-context"];
  } catch {
    return undefined;
  }
}

/** Rebuilds the merged kubeconfig from every configured cluster of the workdir; returns its path. */
export async function writeMergedKubeconfig(paths: ClusterPaths, preferredContext?: string): Promise<string> {
  const docs: string[] = [];
  for (const name of await listClusterNames(paths)) {
    if (!(await clusterState(paths, name)).configured) continue;
    docs.push(await exportKubeconfig(paths, name));
  }
  const current = preferredContext ?? await currentContextOf(paths.kubeconfig);
  const tmp = `${paths.kubeconfig}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, mergeKubeconfigs(docs, current), { mode: 0o600 });
  await Deno.rename(tmp, paths.kubeconfig);
  return paths.kubeconfig;
}

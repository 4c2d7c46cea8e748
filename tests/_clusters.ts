/**
 * Shared local clusters for the integration tests: one set of kwokctl clusters (mo-test-1..N, separate from the
 * `deno task cluster up` demo set mo-1..N) reused by every test file and every run, plus small helpers to talk
 * to them (project kubectl + the shared kubeconfig).
 *
 * Safe under `deno test --parallel`: the first caller builds/starts the clusters under a lock file; the others
 * wait on the lock and then reuse them. Leave the clusters running between runs (`deno task cluster down --all`
 * removes them).
 *
 * @example
 * ```ts
 * const { contexts } = await ensureClusters();
 * const ns = await freshNamespace(contexts[0], "demo");
 * try {
 *   await applyObject(contexts[0], { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: ns.name } });
 * } finally {
 *   await ns.cleanup();
 * }
 * ```
 *
 * @module
 */
import { type ClusterPaths, clusterPaths, contextName } from "../tools/cluster/paths.ts";
import { kubeconfigContexts } from "../tools/cluster/kubeconfig.ts";
import { clusterState, componentPid, processAlive } from "../tools/cluster/state.ts";
import {
  startCluster as startKwokCluster,
  stopCluster as stopKwokCluster,
  upClusters,
  waitApiReady,
} from "../tools/cluster/clusters.ts";
import { run } from "../tools/cluster/run.ts";
import { NAMESPACE_LABEL } from "../templates/labels.ts";

/** The shared clusters, as {@link ensureClusters} returns them. */
export interface TestClusters {
  /** Path of the kubeconfig holding a context per cluster. */
  kubeconfig: string;
  /** Context names (`kwok-<name>`), in the order of `names`. */
  contexts: string[];
  /** Cluster names (for {@link stopCluster}, {@link startCluster}, {@link apiServerPid}). */
  names: string[];
}

/** A namespace made for one test, with its cleanup. */
export interface TestNamespace extends AsyncDisposable {
  /** The namespace's name (`<prefix>-<random>`). */
  name: string;
  /** The context it lives in. */
  context: string;
  /** Deletes the namespace (without waiting for its contents to go). */
  cleanup(): Promise<void>;
}

/** Prefix of the shared test clusters' names. */
export const TEST_CLUSTER_PREFIX = "mo-test-";

/** Names of the shared test clusters: mo-test-1..count. */
export function testClusterNames(count = 3): string[] {
  return Array.from({ length: count }, (_, i) => `${TEST_CLUSTER_PREFIX}${i + 1}`);
}

const log = (m: string) => console.error(`[clusters] ${m}`);

async function allReady(paths: ClusterPaths, names: string[]): Promise<boolean> {
  const contexts = new Set(await kubeconfigContexts(paths.kubeconfig));
  for (const name of names) {
    if (!contexts.has(contextName(name))) return false;
    if (!(await clusterState(paths, name)).running) return false;
  }
  try {
    await Promise.all(names.map((n) => waitApiReady(paths, n, 3_000)));
  } catch {
    return false;
  }
  return true;
}

/**
 * Returns running clusters with the given names, creating or starting them when needed (building the binaries
 * first when they are not cached: minutes on a cold machine). Use a name of your own (e.g. `mo-outage-1`) for a
 * test that stops its cluster, so tests running in parallel on the shared set are not disturbed.
 */
export async function ensureNamedClusters(names: string[]): Promise<TestClusters> {
  const paths = await clusterPaths();
  if (!(await allReady(paths, names))) {
    // upClusters takes the lock, re-inspects and reuses whatever another process brought up meanwhile.
    await upClusters({ names, log });
  }
  return { kubeconfig: paths.kubeconfig, contexts: names.map(contextName), names };
}

/**
 * Returns the shared test clusters mo-test-1..count, reusing running ones and creating/starting the rest.
 * Safe to call from several test files (and processes) at once.
 */
export function ensureClusters(count = 3): Promise<TestClusters> {
  return ensureNamedClusters(testClusterNames(count));
}

/**
 * Runs the project's kubectl against `context` of the shared kubeconfig and returns stdout; throws an error
 * carrying kubectl's stderr when it fails.
 */
export async function kubectl(context: string, ...args: string[]): Promise<string> {
  return await kubectlWithStdin(context, undefined, ...args);
}

/** Like {@link kubectl}, with `stdin` written to kubectl's standard input (e.g. for `-f -`). */
export async function kubectlWithStdin(
  context: string,
  stdin: string | undefined,
  ...args: string[]
): Promise<string> {
  const paths = await clusterPaths();
  return await run(
    `${paths.k8s}/kubectl`,
    ["--kubeconfig", paths.kubeconfig, "--context", context, ...args],
    {
      stdin,
      timeoutMs: 60_000,
    },
  );
}

/** A Kubernetes object as plain data. */
export interface KubeObject {
  /** `group/version` or `v1`. */
  apiVersion: string;
  /** Kind. */
  kind: string;
  /** Metadata; `name` is required for apply. */
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * Server-side applies a plain object (`kubectl apply --server-side -f -`, field manager `mo-test`) and returns
 * the object as the server stored it.
 */
export async function applyObject<T extends KubeObject = KubeObject>(
  context: string,
  obj: KubeObject,
): Promise<T> {
  const out = await kubectlWithStdin(
    context,
    JSON.stringify(obj),
    "apply",
    "--server-side",
    "--field-manager=mo-test",
    "-o",
    "json",
    "-f",
    "-",
  );
  return JSON.parse(out) as T;
}

/**
 * Creates a namespace with a unique name (`<prefix>-<random>`) and returns it with an async cleanup (also
 * usable with `await using`).
 */
export async function freshNamespace(context: string, prefix: string): Promise<TestNamespace> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) ||
    "test";
  const name = `${base}-${suffix}`;
  await kubectl(context, "create", "namespace", name);
  const cleanup = () => removeNamespace(context, name);
  return { name, context, cleanup, [Symbol.asyncDispose]: cleanup };
}

/**
 * Removes a test namespace so that nothing is left behind, whether or not an operator still serves it: MySQL
 * objects lose their finalizers first (with no operator they would hold the namespace in Terminating forever), then
 * the namespace is deleted (without waiting for its contents), then the PersistentVolumes the operator made for its
 * instances (cluster-scoped, so the namespace does not take them). Data of test instances is not kept.
 */
/**
 * Removes every finalizer of `object` (`kind/name`, as `kubectl get -o name` prints it) in `namespace`: what a test
 * does when no operator will, so the object can go.
 */
export function dropFinalizers(context: string, object: string, namespace: string): Promise<string> {
  return kubectl(
    context,
    "patch",
    object,
    "-n",
    namespace,
    "--type=merge",
    "-p",
    '{"metadata":{"finalizers":null}}',
  );
}

export async function removeNamespace(context: string, name: string): Promise<void> {
  const objects = await kubectl(context, "get", "mysqls", "-n", name, "-o", "name", "--ignore-not-found")
    .catch(
      () => "", // no CRD in this cluster
    );
  for (const obj of objects.split("\n").filter((l) => l.trim())) {
    await dropFinalizers(context, obj, name).catch(() => {}); // gone meanwhile
  }
  await kubectl(context, "delete", "namespace", name, "--ignore-not-found", "--wait=false");
  await kubectl(
    context,
    "delete",
    "pv",
    "-l",
    `${NAMESPACE_LABEL}=${name}`,
    "--wait=false",
    "--ignore-not-found",
  );
}

/**
 * Polls `fn` every `intervalMs` until it returns a value other than `undefined`, `null`, `false` or `""`, and returns
 * that value; errors thrown by `fn` count as "not yet". Throws a clear error naming `description` (and the last
 * error or value seen) after `timeoutMs`.
 */
export async function waitFor<T>(
  description: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await fn();
      // An empty string is "not yet" too: `(await kubectl(... "-o", "name")).trim()` is "" while nothing matches.
      if (v !== undefined && v !== null && v !== false && v !== "") return v as T;
      last = `last result: ${String(v)}`;
    } catch (e) {
      last = `last error: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (performance.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description} (${last})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Stops every component of cluster `name` (`kwokctl stop cluster`; data kept): the cluster looks dead. */
export function stopCluster(name: string): Promise<void> {
  return stopKwokCluster(name, log);
}

/** Starts the stopped components of cluster `name` again and waits for its API server. */
export function startCluster(name: string): Promise<void> {
  return startKwokCluster(name, log);
}

/** Process id of cluster `name`'s running kube-apiserver (e.g. to `kill -9` it); undefined when it is not running. */
export async function apiServerPid(name: string): Promise<number | undefined> {
  const pid = await componentPid(await clusterPaths(), name, "kube-apiserver");
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}

/**
 * Whether a started cluster's kube-controller-manager really runs its controllers.
 *
 * @module
 */
import { kubectlDirect } from "./kwokctl.ts";
import type { ClusterPaths } from "./paths.ts";

/** How long one kubectl call of the probe may take, and how long the probe waits in all. */
export interface ProbeTimeouts {
  /** Per kubectl call (default 45 s: discovery on a just-started API server of a loaded machine is slow). */
  commandMs?: number;
  /** For the whole probe (default 60 s). */
  totalMs?: number;
}

/**
 * Whether kube-controller-manager runs its controllers: a new namespace gets its `default` ServiceAccount in time.
 * A live process is no proof: kube-controller-manager waits for a healthy API server for a while and then exits,
 * possibly after the caller saw it alive (seen in CI: a started cluster whose Deployments never got pods).
 *
 * Never throws for a slow or failing API server: that is a "no" (false), for the caller to start the cluster
 * again. A create whose kubectl outlived its timeout may still have gone through (seen in CI: "created" printed,
 * then the timeout), so a failed create is followed by a look whether the namespace exists. Leaves no namespace.
 */
export async function controllersWorking(
  paths: ClusterPaths,
  name: string,
  timeouts: ProbeTimeouts = {},
): Promise<boolean> {
  const deadline = performance.now() + (timeouts.totalMs ?? 60_000);
  const ns = `mo-probe-${crypto.randomUUID().slice(0, 8)}`;
  const kc = (...args: string[]) =>
    kubectlDirect(paths, name, ["--request-timeout=10s", ...args], {
      timeoutMs: timeouts.commandMs ?? 45_000,
    });
  const ok = (p: Promise<string>) => p.then((out) => out, () => undefined);
  let created = false;
  try {
    while (performance.now() < deadline) {
      created = created || (await ok(kc("create", "namespace", ns))) !== undefined ||
        (await ok(kc("get", "namespace", ns, "-o", "name"))) !== undefined;
      if (created) {
        const sas = await ok(kc("get", "serviceaccounts", "-n", ns, "-o", "name"));
        if (sas?.split("\n").includes("serviceaccount/default")) return true;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  } finally {
    // Also when the create seemed to fail: it may have gone through.
    await ok(kc("delete", "namespace", ns, "--wait=false", "--ignore-not-found"));
  }
}

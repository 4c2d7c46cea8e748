/**
 * Test helpers on top of tests/_clusters.ts for operator tests: the CRD installed once, API clients per context,
 * MySQL objects and conditions, and watches that record every change with its resourceVersion (etcd's global
 * order), so a test can prove what happened before what.
 *
 * @module
 */
import { parse } from "yaml";
import { clusterPaths } from "../tools/cluster/paths.ts";
import { compactNow, etcdUrl } from "../tools/cluster/etcd.ts";
import { ensureClusters, kubectl, kubectlWithStdin, type TestClusters, waitFor } from "./_clusters.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { KubeClient, type KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, type Resource } from "../runtime/kube/resources.ts";
import { ANNOTATIONS, type Condition, type MySQL } from "../api/mysql.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The shared clusters with the CRD installed in each. */
export async function clustersWithCRD(count = 3): Promise<TestClusters> {
  const clusters = await ensureClusters(count);
  const crd = await Deno.readTextFile(`${ROOT}deploy/crd.yaml`);
  await Promise.all(clusters.contexts.map(async (ctx) => {
    await kubectlWithStdin(ctx, crd, "apply", "--server-side", "--force-conflicts", "-f", "-");
    await kubectl(ctx, "wait", "--for=condition=Established", "crd/mysqls.otus.homework", "--timeout=60s");
  }));
  return clusters;
}

/** An API client for a context of the shared kubeconfig. */
export async function clientFor(kubeconfig: string, context: string): Promise<KubeClient> {
  return new KubeClient(await connectionFor(loadKubeconfig({ path: kubeconfig }), context));
}

/** The course's example object (deploy/mysql-instance.yaml), optionally in a namespace with changes. */
export async function courseObject(namespace: string, patch: Partial<MySQL["spec"]> = {}, name?: string) {
  const obj = parse(await Deno.readTextFile(`${ROOT}deploy/mysql-instance.yaml`));
  obj.metadata.namespace = namespace;
  if (name) obj.metadata.name = name;
  obj.spec = { ...obj.spec, ...patch };
  return obj as MySQL;
}

/** `kubectl apply -f -` of an object (client-side, like a user); returns kubectl's output. */
export function kubectlApply(context: string, obj: unknown): Promise<string> {
  return kubectlWithStdin(context, JSON.stringify(obj), "apply", "-f", "-");
}

/** Reads a MySQL object, or undefined when gone. */
export async function getMySQL(context: string, ns: string, name: string): Promise<MySQL | undefined> {
  const out = await kubectl(context, "get", "mysql", name, "-n", ns, "-o", "json", "--ignore-not-found");
  return out.trim() ? JSON.parse(out) : undefined;
}

/** A condition of an object. */
export function condition(obj: MySQL | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits for a condition status (and reason, when given); returns the object. */
export function waitCondition(
  context: string,
  ns: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 60_000,
): Promise<MySQL> {
  return waitFor(`${ns}/${name} ${type}=${status}${reason ? ` (${reason})` : ""}`, async () => {
    const obj = await getMySQL(context, ns, name);
    const c = condition(obj, type);
    return c?.status === status && (!reason || c.reason === reason) ? obj : undefined;
  }, timeoutMs);
}

/** Events of an object (reason: message), oldest first. */
export async function eventsOf(
  context: string,
  ns: string,
  name: string,
): Promise<Array<{ reason: string; message: string; type: string }>> {
  const out = await kubectl(
    context,
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    `involvedObject.name=${name},involvedObject.kind=MySQL`,
    "-o",
    "json",
  );
  return (JSON.parse(out).items as KubeObject[])
    .sort((a, b) => String(a.firstTimestamp).localeCompare(String(b.firstTimestamp)))
    .map((e) => ({ reason: e.reason, message: e.message, type: e.type }));
}

/** A change seen by a recording watch. */
export interface Seen {
  type: string;
  rv: number;
  obj: KubeObject;
}

/** Records every change of a resource in a namespace until stopped. */
export function recordWatch(client: KubeClient, resource: Resource, namespace?: string) {
  const seen: Seen[] = [];
  const ctl = new AbortController();
  const listing = Promise.withResolvers<void>();
  const done = (async () => {
    const list = await client.list(collectionPath(resource, namespace)).catch((err) => {
      listing.reject(err);
      throw err;
    });
    for (const o of list.items) {
      seen.push({ type: "EXISTING", rv: Number(o.metadata?.resourceVersion), obj: o });
    }
    listing.resolve();
    let rv = list.metadata.resourceVersion;
    while (!ctl.signal.aborted) {
      try {
        for await (
          const ev of client.watch(collectionPath(resource, namespace), {
            resourceVersion: rv,
            allowWatchBookmarks: true,
          }, ctl.signal)
        ) {
          rv = ev.object.metadata?.resourceVersion ?? rv;
          if (ev.type !== "BOOKMARK") seen.push({ type: ev.type, rv: Number(rv), obj: ev.object });
        }
      } catch {
        if (ctl.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    seen,
    /** Resolves once the initial list is recorded: every later change is seen as an event. */
    listed: listing.promise,
    async stop() {
      ctl.abort();
      await done.catch(() => {});
    },
  };
}

/**
 * Compacts the cluster's etcd up to its current revision, so every older resourceVersion is gone: the next watch
 * from one of them gets 410 Gone.
 */
export async function compactEtcd(clusterName: string): Promise<void> {
  await compactNow(await etcdUrl(await clusterPaths(), clusterName));
}

/** Merge-patches a MySQL object (like `kubectl patch --type=merge`). */
export function patchMySQL(context: string, ns: string, name: string, patch: unknown): Promise<string> {
  return kubectl(context, "patch", "mysql", name, "-n", ns, "--type=merge", "-p", JSON.stringify(patch));
}

/** The first recorded change where a final backup Job was Complete. */
export function completedFinalBackup(seen: Seen[]): Seen | undefined {
  return seen.find((s) =>
    s.obj.metadata?.labels?.["otus.homework/backup-reason"] === "final" &&
    (s.obj.status?.conditions ?? []).some((c: { type: string; status: string }) =>
      c.type === "Complete" && c.status === "True"
    )
  );
}

/** The first recorded change where the named claim was being deleted or gone. */
export function claimGoing(seen: Seen[], name: string): Seen | undefined {
  return seen.find((s) =>
    s.obj.metadata?.name === name && (s.type === "DELETED" || Boolean(s.obj.metadata?.deletionTimestamp))
  );
}

/**
 * A test's clean-up: deletes MySQL `name` without its final backup (annotated skip-final-backup first) and waits
 * until it is gone; errors are printed, never thrown (a clean-up must not hide the test's own failure).
 */
export async function deleteWithoutFinalBackup(context: string, ns: string, name: string): Promise<void> {
  if (!(await getMySQL(context, ns, name).catch(() => undefined))) return;
  await kubectl(
    context,
    "annotate",
    "mysql",
    name,
    "-n",
    ns,
    `${ANNOTATIONS.skipFinalBackup}=true`,
    "--overwrite",
  )
    .catch(() => "");
  await kubectl(context, "delete", "mysql", name, "-n", ns, "--wait=false").catch(() => "");
  await waitFor("the object to be gone", async () => !(await getMySQL(context, ns, name)), 120_000, 500)
    .catch((e) => console.error(`cleanup: ${e.message}`));
}

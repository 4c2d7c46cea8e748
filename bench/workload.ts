/**
 * The benchmark's workload: the course's example object under many names, created and deleted "at once" (a bounded
 * number of requests in flight per cluster), plus namespace and volume housekeeping.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { ANNOTATIONS, API_VERSION, KIND, type MySQL } from "../api/mysql.ts";
import { isStatus, type KubeClient } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { NAMESPACE_LABEL } from "../templates/labels.ts";

/** Object names: db-0001 .. db-NNNN. */
export function objectNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `db-${String(i + 1).padStart(4, "0")}`);
}

/** The course's example object (deploy/mysql-instance.yaml) as `namespace/name`. */
export function mysqlObject(namespace: string, name: string, annotations?: Record<string, string>) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { image: "mysql:5.7", database: "otus-database", password: "otuspassword", storage_size: "1Gi" },
  } as unknown as MySQL;
}

/** Runs `fn` over `items` with at most `limit` running at once. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Creates a namespace (an existing one is fine). */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(
      "/api/v1/namespaces",
      { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      "bench",
    );
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

/** Deletes a namespace and the PVs labelled with it; waits (up to `timeoutMs`) until the namespace is gone. */
export async function removeNamespace(
  client: KubeClient,
  name: string,
  timeoutMs = 300_000,
): Promise<boolean> {
  await client.delete(`/api/v1/namespaces/${name}`);
  const deadline = performance.now() + timeoutMs; // monotonic: the VM's wall clock may step
  let gone = false;
  while (performance.now() < deadline) {
    if (!(await client.getOrUndefined(`/api/v1/namespaces/${name}`))) {
      gone = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Many PVs can take the API server longer than one request's timeout under load: retry (it resumes).
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await client.request("DELETE", collectionPath(RESOURCES.pv), {
        query: { labelSelector: `${NAMESPACE_LABEL}=${name}` },
      }, "deletecollection");
      break;
    } catch (err) {
      if (attempt === 5) console.error(`[bench] PVs of ${name} not deleted: ${(err as Error).message}`);
    }
  }
  return gone;
}

/** Creates the objects; returns when each create request was sent (epoch ms). */
export async function createObjects(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
  inFlight: number,
  annotations?: Record<string, string>,
): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  const path = collectionPath(MYSQL_RESOURCE, namespace);
  await pool(names, inFlight, async (name) => {
    sent.set(name, Date.now());
    await client.create(path, mysqlObject(namespace, name, annotations), "bench");
  });
  return sent;
}

/** Deletes the objects; returns when each delete request was sent (epoch ms). */
export async function deleteObjects(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
  inFlight: number,
): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  await pool(names, inFlight, async (name) => {
    sent.set(name, Date.now());
    await client.delete(objectPath(MYSQL_RESOURCE, namespace, name));
  });
  return sent;
}

/** Annotation that lets an object go without its final backup (used to clean up outage-phase objects fast). */
export const SKIP_FINAL_BACKUP = { [ANNOTATIONS.skipFinalBackup]: "true" };

/**
 * Removes what an interrupted earlier run left: every `bench-*` namespace (its MySQL objects' finalizers are
 * dropped first: no operator runs to honour them) and the PVs labelled with those namespaces.
 */
export async function removeLeftovers(client: KubeClient, log: (m: string) => void): Promise<void> {
  const list = await client.list("/api/v1/namespaces");
  const stale = list.items.map((n) => n.metadata!.name!).filter((n) => n.startsWith("bench-"));
  for (const ns of stale) {
    log(`removing namespace ${ns} left by an earlier run`);
    const objs = await client.list(collectionPath(MYSQL_RESOURCE, ns));
    await pool(objs.items, 32, async (o) => {
      if (!o.metadata?.finalizers?.length) return;
      await client.mergePatch(objectPath(MYSQL_RESOURCE, ns, o.metadata.name!), {
        metadata: { finalizers: null },
      }, "bench").catch(() => {});
    });
  }
  await Promise.all(stale.map((ns) => removeNamespace(client, ns)));
}

/**
 * Watches of the benchmark's own (admin) client on one namespace of one cluster: when each MySQL object became
 * Ready or went away, when each Deployment became Available, each claim Bound, and which backup Jobs appeared. The
 * times are this process's receipt of the watch event (Date.now()), the same clock every phase uses.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import type { KubeClient, KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, type Resource, RESOURCES } from "../runtime/kube/resources.ts";
import { APP_LABELS } from "../templates/labels.ts";
// Available the way the operator judges it: the reconciler's own rule.
import { deploymentAvailable } from "../reconcilers/progress_due.ts";
import type { Step, Timeline } from "./timeline.ts";

/** ReplicaSets: watched by the benchmark only (the operator never reads them). */
const REPLICASETS: Resource = {
  group: "apps",
  version: "v1",
  plural: "replicasets",
  kind: "ReplicaSet",
  namespaced: true,
};

/** Lists, then watches from the list's resourceVersion, reconnecting until `signal` aborts. */
async function listWatch(
  client: KubeClient,
  resource: Resource,
  namespace: string,
  on: (type: string, obj: KubeObject) => void,
  signal: AbortSignal,
  onSynced: () => void,
  state: (s: string) => void,
): Promise<void> {
  const path = collectionPath(resource, namespace);
  let rv = "";
  while (!signal.aborted) {
    try {
      if (!rv) {
        state("list");
        const list = await client.list(path);
        for (const o of list.items) on("ADDED", o);
        rv = list.metadata.resourceVersion;
        onSynced();
      }
      state("watch");
      for await (
        // A server-side timeout as well: once, aborting a busy watch did not end it (not understood).
        const ev of client.watch(
          path,
          { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 30 },
          signal,
        )
      ) {
        if (ev.type === "ERROR") {
          rv = ""; // expired: list again
          break;
        }
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type !== "BOOKMARK") on(ev.type, ev.object);
      }
      state("watch ended");
    } catch {
      state("failed");
      if (signal.aborted) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  state("stopped");
}

/** True when a MySQL object's Ready condition is True. */
export function mysqlReady(o: KubeObject): boolean {
  return (o.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    c.type === "Ready" && c.status === "True"
  );
}

/** First-seen times (epoch ms) of one namespace's milestones. */
export class NamespaceTracker {
  readonly cluster: string;
  readonly namespace: string;
  /** MySQL name -> Ready=True first seen. */
  readonly ready = new Map<string, number>();
  /** MySQL name -> deleted. */
  readonly gone = new Map<string, number>();
  /** MySQL names seen at all. */
  readonly present = new Set<string>();
  /** Deployment name -> Available first seen. */
  readonly available = new Map<string, number>();
  /** Deployment name -> deleted. */
  readonly deploymentsGone = new Map<string, number>();
  /** Deployments seen. */
  readonly deployments = new Set<string>();
  /** Claim name -> Bound first seen. */
  readonly bound = new Map<string, number>();
  /** Backup Job names seen. */
  readonly backupJobs = new Set<string>();
  /** MySQL (or, in the lower bound, instance-label) name -> first-seen times of its steps (bench/timeline.ts). */
  readonly timelines = new Map<string, Timeline>();
  readonly #stop = new AbortController();
  readonly #done: Promise<void>[] = [];
  readonly #synced: Promise<void>;
  readonly #states: Record<string, string> = {};
  #waiters: Array<() => void> = [];

  /** Starts the watches. */
  constructor(client: KubeClient, cluster: string, namespace: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    const syncs: Promise<void>[] = [];
    const watch = (r: Resource, on: (type: string, o: KubeObject) => void) => {
      let resolve!: () => void;
      syncs.push(new Promise<void>((r) => resolve = r));
      this.#done.push(listWatch(
        client,
        r,
        namespace,
        (t, o) => {
          on(t, o);
          this.#notify();
        },
        this.#stop.signal,
        resolve,
        (s) => this.#states[r.plural] = s,
      ));
    };
    watch(MYSQL_RESOURCE, (t, o) => {
      const name = o.metadata!.name!;
      const now = Date.now();
      if (t === "DELETED") {
        if (!this.gone.has(name)) this.gone.set(name, now);
        return;
      }
      this.present.add(name);
      if (o.metadata?.finalizers?.length || o.status) this.mark(name, "operatorFirst", now);
      if (mysqlReady(o) && !this.ready.has(name)) this.ready.set(name, now);
    });
    watch(RESOURCES.deployment, (t, o) => {
      const name = o.metadata!.name!;
      const now = Date.now();
      if (t === "DELETED") {
        if (!this.deploymentsGone.has(name)) this.deploymentsGone.set(name, now);
        return;
      }
      this.deployments.add(name);
      if (deploymentAvailable(o) && !this.available.has(name)) this.available.set(name, now);
      this.markChild(o, "deploymentCreated", now);
    });
    watch(RESOURCES.pvc, (t, o) => {
      const name = o.metadata!.name!;
      if (t === "DELETED") return;
      const now = Date.now();
      if (o.status?.phase === "Bound" && !this.bound.has(name)) this.bound.set(name, now);
      if (o.metadata?.labels?.[APP_LABELS.component] !== "data") return;
      this.markChild(o, "claimCreated", now);
      if (o.status?.phase === "Bound") this.markChild(o, "claimBound", now);
    });
    watch(REPLICASETS, (t, o) => {
      if (t !== "DELETED") this.markChild(o, "replicaSetCreated", Date.now());
    });
    watch(RESOURCES.pod, (t, o) => {
      if (t === "DELETED" || o.metadata?.labels?.[APP_LABELS.component] !== "database") return;
      const now = Date.now();
      this.markChild(o, "podCreated", now);
      if (o.spec?.nodeName) this.markChild(o, "podScheduled", now);
      const ready = (o.status?.conditions ?? []).some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      );
      if (ready) this.markChild(o, "podReady", now);
    });
    watch(RESOURCES.job, (t, o) => {
      if (t !== "DELETED" && o.metadata?.labels?.["app.kubernetes.io/component"] === "backup") {
        this.backupJobs.add(o.metadata!.name!);
      }
    });
    this.#synced = Promise.all(syncs).then(() => {});
  }

  /** Records the first time a step of `name` was seen. */
  mark(name: string, step: Step, at: number): void {
    let t = this.timelines.get(name);
    if (!t) this.timelines.set(name, t = {});
    if (t[step] === undefined) t[step] = at;
  }

  /** Marks a step of the instance a child belongs to (by its instance label). */
  markChild(o: KubeObject, step: Step, at: number): void {
    const name = o.metadata?.labels?.[APP_LABELS.instance];
    if (name) this.mark(name, step, at);
  }

  /** Resolves when every watch has listed once. */
  synced(): Promise<void> {
    return this.#synced;
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until `done()` holds (re-checked on every event and every second); false on timeout. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(1000, left));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Stops the watches (gives up waiting for them after 40 s, saying so). */
  async stop(): Promise<void> {
    this.#stop.abort();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((r) => timer = setTimeout(() => r("late"), 40_000));
    const states = this.#states;
    const res = await Promise.race([Promise.all(this.#done).then(() => "ok"), late]);
    clearTimeout(timer);
    if (res === "late") {
      console.error(
        `[bench] watches of ${this.cluster}/${this.namespace} did not stop: ${JSON.stringify(states)}`,
      );
    }
  }
}

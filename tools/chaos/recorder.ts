/**
 * What the chaos run records of one cluster while it runs, through its own watches of the API server (never
 * through the fault proxy, and never from the operators' own counters): every MySQL incarnation and whether a
 * verified final backup or the skip annotation was seen on it, every deleted PersistentVolume, the Deployments and
 * backup Jobs of every instance over time, and when each object the run created turned Ready.
 *
 * A watch that misses events while its API server is down relists when it is back (runtime/informer.ts): objects
 * that went meanwhile are reported as deleted then. The operator cannot act on a cluster whose API server is down
 * either, so nothing it does there goes unseen.
 *
 * @module
 */
import { Informer } from "../../runtime/informer.ts";
import type { KubeClient, KubeObject } from "../../runtime/kube/client.ts";
import { RESOURCES } from "../../runtime/kube/resources.ts";
import { MYSQL_RESOURCE } from "../../api/resource.ts";
import { ANNOTATIONS, KIND } from "../../api/mysql.ts";
import { CONDITIONS } from "../../api/status.ts";
import { APP_LABELS, MANAGED_BY } from "../../templates/labels.ts";
import type { ChildEvent, Incarnation } from "./invariants.ts";
import { LEASE } from "./operators.ts";

/** An object the run created: when its create was sent and when it first turned Ready (ms, run clock). */
export interface Creation {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  sentAt: number;
  readyAt?: number;
}

/** Namespace, name and UID of an object as strings ("" when missing). */
export function idOf(obj: KubeObject): { namespace: string; name: string; uid: string } {
  return {
    namespace: obj.metadata?.namespace ?? "",
    name: obj.metadata?.name ?? "",
    uid: obj.metadata?.uid ?? "",
  };
}

/** True when a MySQL object says Ready=True for its current generation. */
export function isReady(obj: KubeObject): boolean {
  const ready = (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === CONDITIONS.ready);
  return ready?.status === "True" &&
    (ready.observedGeneration === undefined || ready.observedGeneration === obj.metadata?.generation);
}

/** The reason of a MySQL object's Ready condition, if any. */
export function readyReason(obj: KubeObject): string | undefined {
  return (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === CONDITIONS.ready)?.reason;
}

/** The UID of the MySQL object that controls a child, if one does. */
export function controllerUid(obj: KubeObject): string | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: { kind: string; controller?: boolean }) =>
    r.kind === KIND && r.controller
  )?.uid;
}

function jobFinished(job: KubeObject): boolean {
  return (job.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    (c.type === "Complete" || c.type === "Failed") && c.status === "True"
  );
}

/** Records one cluster. */
export class ClusterRecorder {
  readonly incarnations = new Map<string, Incarnation>();
  readonly volumesDeleted: Array<{ cluster: string; name: string }> = [];
  readonly children: ChildEvent[] = [];
  readonly creations: Creation[] = [];
  readonly #creations = new Map<string, Creation>();
  readonly mysqls: Informer;
  readonly jobs: Informer;
  readonly #informers: Informer[];
  /** Times the cluster's Lease changed hands (a first holder is not a hand-over). */
  handovers = 0;
  #holder?: string;
  readonly #abort = new AbortController();
  #runs: Promise<void>[] = [];

  constructor(
    readonly cluster: string,
    client: KubeClient,
    readonly inScope: (namespace: string) => boolean,
    readonly now: () => number,
  ) {
    const managed = `${APP_LABELS.managedBy}=${MANAGED_BY}`;
    this.mysqls = new Informer(client, {
      resource: MYSQL_RESOURCE,
      onChange: (obj, deleted) => this.#mysql(obj, deleted),
    });
    this.jobs = new Informer(client, {
      resource: RESOURCES.job,
      labelSelector: managed,
      onChange: (obj, deleted) => this.#child("BackupJob", obj, deleted),
    });
    this.#informers = [
      this.mysqls,
      this.jobs,
      new Informer(client, {
        resource: RESOURCES.pv,
        onChange: (obj, deleted) => {
          if (deleted) this.volumesDeleted.push({ cluster, name: idOf(obj).name });
        },
      }),
      new Informer(client, {
        resource: RESOURCES.lease,
        namespace: LEASE.namespace,
        onChange: (obj, deleted) => {
          const holder = obj.spec?.holderIdentity;
          if (deleted || !holder || holder === this.#holder || idOf(obj).name !== LEASE.name) return;
          if (this.#holder !== undefined) this.handovers++;
          this.#holder = holder;
        },
      }),
      new Informer(client, {
        resource: RESOURCES.deployment,
        onChange: (obj, deleted) => this.#child("Deployment", obj, deleted),
      }),
    ];
  }

  /** Starts the watches and waits until each has listed once. */
  async start(): Promise<void> {
    this.#runs = this.#informers.map((i) => i.run(this.#abort.signal).catch(() => {}));
    await Promise.all(this.#informers.map((i) => i.synced()));
  }

  /** Stops the watches. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#runs);
  }

  /** Notes an object the run created. */
  created(namespace: string, name: string, uid: string, sentAt: number): void {
    const c: Creation = { cluster: this.cluster, namespace, name, uid, sentAt };
    // The watch may have seen it Ready before the create's answer arrived.
    const seen = this.mysqls.get(`${namespace}/${name}`);
    if (seen?.metadata?.uid === uid && isReady(seen)) c.readyAt = this.now();
    this.#creations.set(uid, c);
    this.creations.push(c);
  }

  #mysql(obj: KubeObject, deleted: boolean): void {
    const { namespace, name, uid } = idOf(obj);
    if (!uid || !this.inScope(namespace)) return;
    const i = this.incarnations.get(uid) ??
      { cluster: this.cluster, namespace, name, uid, finalBackupVerified: false, skipFinalBackup: false };
    i.finalBackupVerified ||= Boolean(obj.status?.finalBackupTime);
    i.skipFinalBackup ||= obj.metadata?.annotations?.[ANNOTATIONS.skipFinalBackup] === "true";
    this.incarnations.set(uid, i);
    if (deleted || !isReady(obj)) return;
    const c = this.#creations.get(uid);
    if (c && c.readyAt === undefined) c.readyAt = this.now();
  }

  #child(kind: ChildEvent["kind"], obj: KubeObject, deleted: boolean): void {
    const ownerUid = controllerUid(obj);
    const { namespace, name } = idOf(obj);
    if (!ownerUid || !this.inScope(namespace)) return;
    if (kind === "BackupJob" && obj.metadata?.labels?.[APP_LABELS.component] !== "backup") return;
    const state = deleted ? "gone" : kind === "BackupJob" && jobFinished(obj) ? "finished" : "active";
    this.children.push({
      cluster: this.cluster,
      at: this.now(),
      kind,
      namespace,
      name,
      ownerUid,
      state,
    });
  }

  /** The run's MySQL objects as they are now: deleting, Ready, and why not. */
  mysqlStates(): Array<
    { cluster: string; namespace: string; name: string; deleting: boolean; ready: boolean; why?: string }
  > {
    return this.mysqls.list().filter((m) => this.inScope(idOf(m).namespace)).map((m) => ({
      cluster: this.cluster,
      ...idOf(m),
      deleting: Boolean(m.metadata?.deletionTimestamp),
      ready: isReady(m),
      why: readyReason(m),
    }));
  }

  /** The operator's Jobs now: finished or not, and whether their MySQL still exists. */
  jobStates(): Array<
    { cluster: string; namespace: string; name: string; finished: boolean; ownerExists: boolean }
  > {
    const live = new Set(this.mysqls.list().map((m) => idOf(m).uid));
    return this.jobs.list().filter((j) => this.inScope(idOf(j).namespace)).map((j) => {
      const owner = controllerUid(j);
      const { namespace, name } = idOf(j);
      return {
        cluster: this.cluster,
        namespace,
        name,
        finished: jobFinished(j),
        ownerExists: owner !== undefined && live.has(owner),
      };
    });
  }
}

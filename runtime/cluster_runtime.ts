/**
 * One cluster's runtime: its own client and connection pool, informers (MySQL objects and the children the operator
 * labels), work queue, lease and health. Runtimes share nothing, so a slow or dead cluster never holds up another.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { MySQL } from "../api/mysql.ts";
import type { ClusterCache, ClusterContext, ReconcileOptions } from "../reconcilers/context.ts";
import { reconcileMySQL } from "../reconcilers/reconcile_mysql.ts";
import { errorPolicy } from "../reconcilers/error_policy.ts";
import { NAME_LABEL, NAMESPACE_LABEL } from "../templates/labels.ts";
import { type Connection, KubeClient, type KubeObject } from "./kube/client.ts";
import { keyOf, type Resource, RESOURCES } from "./kube/resources.ts";
import { Informer, type InformerState } from "./informer.ts";
import { childCacheOptions } from "./projection.ts";
import { WorkQueue } from "./work_queue.ts";
import { LeaderElector, type LeaseOptions } from "./lease.ts";
import { EventRecorder } from "./events.ts";
import type { OperatorMetrics } from "./metrics.ts";

/** Label every child carries; child informers watch only these objects. */
export const MANAGED_SELECTOR = "app.kubernetes.io/managed-by=mysql-operator";
const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** Settings of one runtime. */
export interface ClusterRuntimeOptions {
  /** The kubeconfig context name (the `cluster` label everywhere). */
  name: string;
  connection: Connection;
  /** Namespaces to serve; empty: all. */
  namespaces: string[];
  reconcile: ReconcileOptions;
  /** Objects reconciled at once in this cluster. */
  concurrency: number;
  /** Leader election; undefined: this process reconciles unconditionally. */
  lease?: LeaseOptions;
  metrics: OperatorMetrics;
  log: Logger;
}

/** Health of one cluster. */
export interface ClusterHealth {
  cluster: string;
  server: string;
  /** Every cache has listed once. */
  synced: boolean;
  /** Every watch is connected now. */
  connected: boolean;
  /** This process reconciles the cluster (holds the lease, or leader election is off). */
  leading: boolean;
  leaseHolder?: string;
  queueDepth: number;
  lastError?: string;
}

type ChildKind = "Deployment" | "Service" | "PersistentVolumeClaim" | "Secret" | "Job";

/** The runtime of one cluster. */
export class ClusterRuntime {
  readonly name: string;
  readonly client: KubeClient;
  readonly queue: WorkQueue;
  readonly #opts: ClusterRuntimeOptions;
  readonly #mysqls: Informer[] = [];
  readonly #children = new Map<ChildKind, Informer[]>();
  readonly #pvs: Informer;
  readonly #namespaces: Informer;
  readonly #elector?: LeaderElector;
  readonly #ctx: ClusterContext;
  readonly #informerStates = new Map<Informer, InformerState>();
  #leading: boolean;

  /** Builds the runtime; {@linkcode run} starts it. */
  constructor(opts: ClusterRuntimeOptions) {
    this.#opts = opts;
    this.name = opts.name;
    const m = opts.metrics;
    const cluster = opts.name;
    this.client = new KubeClient(opts.connection);
    this.client.observe((verb, code, _s) => m.apiRequests.inc({ cluster, verb, code: String(code) }));

    const namespaces: Array<string | undefined> = opts.namespaces.length ? opts.namespaces : [undefined];
    const informer = (
      resource: Resource,
      ns: string | undefined,
      labelSelector: string | undefined,
      on: (o: KubeObject, d: boolean) => void,
    ) => {
      const inf: Informer = new Informer(this.client, {
        resource,
        namespace: ns,
        labelSelector,
        // Children are selected by a label anyone can set: their caches keep only what the operator reads, and
        // lists come in small pages (runtime/projection.ts), so other people's objects cost next to nothing.
        ...(labelSelector || resource === RESOURCES.namespace ? childCacheOptions(resource.kind) : {}),
        onChange: on,
        onRestart: (reason, err) => {
          m.watchRestarts.inc({ cluster, resource: resource.plural, reason });
          if (reason !== "idle") {
            opts.log.warn("watch of {resource} restarts ({reason}): {error}", {
              resource: resource.plural,
              reason,
              error: (err as Error)?.message ?? String(err),
            });
          }
        },
        onState: (s) => this.#informerStates.set(inf, s),
      });
      this.#informerStates.set(inf, inf.state);
      return inf;
    };
    for (const ns of namespaces) {
      this.#mysqls.push(informer(RESOURCES.mysql, ns, undefined, (o) => this.queue.add(keyOf(o))));
    }
    const kinds: Array<[ChildKind, Resource]> = [
      ["Deployment", RESOURCES.deployment],
      ["Service", RESOURCES.service],
      ["PersistentVolumeClaim", RESOURCES.pvc],
      ["Secret", RESOURCES.secret],
      ["Job", RESOURCES.job],
    ];
    for (const [kind, resource] of kinds) {
      this.#children.set(
        kind,
        namespaces.map((ns) => informer(resource, ns, MANAGED_SELECTOR, (o) => this.#enqueueOwner(o))),
      );
    }
    // A namespace being deleted accepts no new Job: its instances keep their volumes instead of a final backup.
    this.#namespaces = informer(RESOURCES.namespace, undefined, undefined, (o) => {
      if (!o.metadata?.deletionTimestamp || !this.#serves(o.metadata.name!)) return;
      for (const m of this.#pick(this.#mysqls, o.metadata.name!)?.list() ?? []) this.queue.add(keyOf(m));
    });
    this.#pvs = informer(RESOURCES.pv, undefined, MANAGED_SELECTOR, (o) => {
      const ns = o.metadata?.labels?.[NAMESPACE_LABEL], name = o.metadata?.labels?.[NAME_LABEL];
      if (ns && name && this.#serves(ns)) this.queue.add(`${ns}/${name}`);
    });

    this.queue = new WorkQueue({
      concurrency: opts.concurrency,
      handler: (key) => reconcileMySQL(this.#ctx, key),
      errorPolicy,
      onDone: (key, seconds, err) => {
        m.reconciles.inc({ cluster, result: err ? "error" : "success" });
        m.reconcileDuration.observe({ cluster }, seconds);
        if (err) {
          m.reconcileErrors.inc({ cluster });
          const [namespace, name] = key.split("/");
          opts.log.with({ namespace, name }).error("reconcile failed: {error}", {
            error: (err as Error)?.message ?? String(err),
          });
        }
      },
    });

    const events = new EventRecorder(this.client, (err) =>
      opts.log.warn("event not recorded: {error}", {
        error: (err as Error)?.message ?? String(err),
      }));
    this.#ctx = {
      cluster,
      client: this.client,
      cache: this.#cache(),
      log: opts.log,
      events,
      options: opts.reconcile,
      now: () => new Date(),
      observe: {
        backupSucceeded: (obj, time) =>
          m.lastBackup.set(
            { cluster, namespace: obj.metadata.namespace, name: obj.metadata.name },
            Math.floor(time.getTime() / 1000),
          ),
        backupFailed: () => m.backupFailures.inc({ cluster }),
        volumeRetained: () => m.retainedVolumes.inc({ cluster }),
      },
    };

    this.#leading = !opts.lease;
    let lastLeaseError = "", lastHolder = "";
    if (opts.lease) {
      this.#elector = new LeaderElector(this.client, opts.lease, {
        onStartedLeading: () => {
          this.#leading = true;
          m.leader.set({ cluster }, 1);
          opts.log.info("acquired lease {lease}: reconciling this cluster", { lease: opts.lease!.name });
          this.#resumeWhenSynced();
        },
        onStoppedLeading: () => {
          this.#leading = false;
          m.leader.set({ cluster }, 0);
          this.queue.pause();
          opts.log.warn("lost lease {lease}: stopped reconciling this cluster", { lease: opts.lease!.name });
        },
        onHolder: (holder) => {
          // One series per cluster: the previous holder's goes, or a failover would show two holders.
          m.leaseHolder.delete({ cluster, holder: lastHolder });
          lastHolder = holder;
          m.leaseHolder.set({ cluster, holder }, 1);
          opts.log.info("lease holder is {holder}", { holder: holder || "(none)" });
        },
        // A lease error keeps this process from reconciling the cluster (e.g. 403 Forbidden on leases): say so
        // once per distinct error at warning level, not every retry period.
        onError: (err) => {
          const error = (err as Error)?.message ?? String(err);
          if (error === lastLeaseError) return opts.log.debug("lease: {error}", { error });
          lastLeaseError = error;
          opts.log.warn("lease {lease}: {error}", { lease: opts.lease!.name, error });
        },
      });
      m.leader.set({ cluster }, 0);
    }
  }

  #serves(ns: string): boolean {
    return this.#opts.namespaces.length === 0 || this.#opts.namespaces.includes(ns);
  }

  #enqueueOwner(o: KubeObject): void {
    const ns = o.metadata?.namespace, instance = o.metadata?.labels?.[INSTANCE_LABEL];
    if (ns && instance) this.queue.add(`${ns}/${instance}`);
  }

  #pick(list: Informer[], ns: string): Informer | undefined {
    return list.length === 1 && !this.#opts.namespaces.length
      ? list[0]
      : list[this.#opts.namespaces.indexOf(ns)];
  }

  #cache(): ClusterCache {
    return {
      mysql: (key) => {
        const ns = key.split("/")[0];
        return this.#pick(this.#mysqls, ns)?.get(key) as MySQL | undefined;
      },
      child: (kind, key) => this.#pick(this.#children.get(kind)!, key.split("/")[0])?.get(key),
      pv: (name) => this.#pvs.get(name),
      pvs: () => this.#pvs.list(),
      namespaceTerminating: (ns) => Boolean(this.#namespaces.get(ns)?.metadata?.deletionTimestamp),
      jobs: (ns, instance) =>
        (this.#pick(this.#children.get("Job")!, ns)?.list() ?? []).filter((j) =>
          j.metadata?.namespace === ns && j.metadata?.labels?.[INSTANCE_LABEL] === instance
        ),
    };
  }

  /** Every informer. */
  get informers(): Informer[] {
    return [...this.#mysqls, ...[...this.#children.values()].flat(), this.#pvs, this.#namespaces];
  }

  async #resumeWhenSynced(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.synced()));
    if (!this.#leading) return;
    // Level-triggered: a new leader looks at everything once.
    for (const inf of this.#mysqls) for (const o of inf.list()) this.queue.add(keyOf(o));
    this.queue.resume();
  }

  /** Runs until `signal` aborts, then stops taking work, lets in-flight reconciles finish and releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    const stopInformers = new AbortController();
    const informers = this.informers.map((i) => i.run(stopInformers.signal));
    const electorStop = new AbortController();
    const elector = this.#elector?.run(electorStop.signal);
    if (!this.#elector) this.#resumeWhenSynced();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await this.queue.close(); // in-flight passes finish; nothing new starts
    electorStop.abort();
    await elector; // releases the lease if held
    stopInformers.abort();
    await Promise.all(informers);
    this.client.close();
  }

  /** Health now. Also refreshes this cluster's gauges. */
  health(): ClusterHealth {
    const states = [...this.#informerStates.values()];
    const synced = states.every((s) => s.synced);
    const connected = states.every((s) => s.connected);
    const lastError = states.find((s) => s.lastError)?.lastError;
    const m = this.#opts.metrics;
    m.queueDepth.set({ cluster: this.name }, this.queue.depth);
    m.clusterUp.set({ cluster: this.name }, connected ? 1 : 0);
    m.synced.set({ cluster: this.name }, synced ? 1 : 0);
    return {
      cluster: this.name,
      server: this.client.server,
      synced,
      connected,
      leading: this.#leading,
      leaseHolder: this.#elector?.holder,
      queueDepth: this.queue.depth,
      ...(lastError ? { lastError } : {}),
    };
  }
}

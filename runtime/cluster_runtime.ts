/**
 * One cluster's runtime: its own client and connection pool, the informers a controller declares
 * (runtime/controller.ts), work queue, lease and health. Runtimes share nothing, so a slow or dead cluster never
 * holds up another.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Connection, KubeClient, type KubeObject } from "./kube/client.ts";
import { keyOf, type Resource, resourceOfPath } from "./kube/resources.ts";
import { Informer, type InformerState } from "./informer.ts";
import { WorkQueue } from "./work_queue.ts";
import type { LeaseOptions } from "./lease.ts";
import { type Leadership, leadership } from "./leadership.ts";
import type { ShardBook } from "./shard.ts";
import { EventRecorder } from "./events.ts";
import type { OperatorMetrics } from "./metrics.ts";
import type { Caches, Controller, WatchedResource } from "./controller.ts";
import { passDueCheck, type ProgressCheck, runProgressCheck } from "./progress_check.ts";

/** Settings of one runtime. */
export interface ClusterRuntimeOptions<Context> {
  /** The kubeconfig context name (the `cluster` label everywhere). */
  name: string;
  connection: Connection;
  /** Namespaces to serve; empty: all. */
  namespaces: string[];
  /** What is watched and reconciled. */
  controller: Controller<Context>;
  /** Objects reconciled at once in this cluster. */
  concurrency: number;
  /** Leader election; undefined: this process reconciles unconditionally. */
  lease?: LeaseOptions;
  /** The clusters this process shares with other replicas (with `lease`); undefined: it leads all it can. */
  shard?: ShardBook;
  metrics: OperatorMetrics;
  log: Logger;
  /**
   * Paused on purpose (`--paused-context`, or the annotation on the cluster's Secret): caches are kept, nothing is
   * reconciled (the lease is still taken, so no other process reconciles it either).
   */
  paused?: boolean;
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
  /** Passes at once in this cluster, at most: its share of the process's budget. */
  concurrency: number;
  /** When the API server last answered a request (RFC 3339). */
  lastContact?: string;
  lastError?: string;
  /** Reconciling is paused on purpose. */
  paused?: boolean;
}

/** Identity of a resource among the informers. */
const idOf = (r: Resource) => `${r.group}/${r.plural}`;

/** The runtime of one cluster. */
export class ClusterRuntime<Context = unknown> {
  readonly name: string;
  readonly client: KubeClient;
  readonly queue: WorkQueue;
  readonly #opts: ClusterRuntimeOptions<Context>;
  /** When the API server last answered (ms since the epoch; a number: this runs on every request). */
  #lastContact = 0;
  /** Informers by resource: one per served namespace of a namespaced resource (one if all are), else one. */
  readonly #informers = new Map<string, Informer[]>();
  readonly #primary: Resource;
  readonly #leadership?: Leadership;
  readonly #ctx: Context;
  readonly #informerStates = new Map<Informer, InformerState>();
  readonly #progress?: ProgressCheck;
  #leading: boolean;

  /** Builds the runtime; {@linkcode run} starts it. */
  constructor(opts: ClusterRuntimeOptions<Context>) {
    this.#opts = opts;
    this.name = opts.name;
    const m = opts.metrics;
    const cluster = opts.name;
    this.client = new KubeClient(opts.connection);
    this.client.observe((verb, code, _s, path) => {
      m.apiRequests.inc({ cluster, verb, resource: resourceOfPath(path), code: String(code) });
      if (code > 0) this.#lastContact = Date.now(); // any answer, even an error, is contact
    });

    const namespaces: Array<string | undefined> = opts.namespaces.length ? opts.namespaces : [undefined];
    const informer = (w: WatchedResource, ns: string | undefined, on: (o: KubeObject) => void) => {
      const resource = w.resource;
      const inf: Informer = new Informer(this.client, {
        resource,
        namespace: ns,
        labelSelector: w.labelSelector,
        ...w.cache,
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
    const watch = (w: WatchedResource, on: (o: KubeObject) => void) => {
      if (this.#informers.has(idOf(w.resource))) throw new Error(`${w.resource.plural} are watched twice`);
      const nss = w.resource.namespaced ? namespaces : [undefined];
      this.#informers.set(idOf(w.resource), nss.map((ns) => informer(w, ns, on)));
    };
    const ctl = opts.controller;
    this.#primary = ctl.for.resource;
    watch(ctl.for, (o) => this.#enqueue(keyOf(o)));
    for (const w of ctl.owns) watch(w, (o) => this.#enqueue(w.mapToKey(o)));
    const caches = this.#caches();
    for (const w of ctl.watches) watch(w, (o) => w.mapToKeys(o, caches).forEach((k) => this.#enqueue(k)));

    this.queue = new WorkQueue({
      concurrency: opts.concurrency,
      handler: (key) => ctl.reconcile(this.#ctx, key),
      errorPolicy: ctl.errorPolicy,
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

    const due = ctl.passDue;
    this.#progress = due && passDueCheck((o) => due(o, caches), opts.log, (key) => this.#enqueue(key));

    const events = new EventRecorder(this.client, (err) =>
      opts.log.warn("event not recorded: {error}", {
        error: (err as Error)?.message ?? String(err),
      }));
    this.#ctx = ctl.context({
      cluster,
      client: this.client,
      caches,
      events,
      metrics: m,
      log: opts.log,
      now: () => new Date(),
    });

    this.#leading = !opts.lease;
    this.#leadership = opts.lease && leadership({
      cluster,
      client: this.client,
      lease: opts.lease,
      metrics: m,
      log: opts.log,
      shard: opts.shard,
      onStartedLeading: () => {
        this.#leading = true;
        this.#resumeWhenSynced();
      },
      onStoppedLeading: () => {
        this.#leading = false;
        this.queue.pause();
      },
      handOver: (ms) => this.#drain(ms),
    });
  }

  /** Stops taking work and waits up to `ms` for the passes in flight; if they outlast it, work goes on. */
  async #drain(ms: number): Promise<boolean> {
    this.queue.pause();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = await Promise.race([
      this.queue.idle().then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms)),
    ]).finally(() => clearTimeout(timer));
    if (!idle && this.#leading && !this.#opts.paused) this.queue.resume();
    return idle;
  }

  #serves(ns: string): boolean {
    return this.#opts.namespaces.length === 0 || this.#opts.namespaces.includes(ns);
  }

  /** Queues a key, unless it belongs to a namespace this runtime does not serve. */
  #enqueue(key: string | undefined): void {
    const slash = key?.indexOf("/") ?? -1;
    if (key && (slash < 0 || this.#serves(key.slice(0, slash)))) this.queue.add(key);
  }

  /** The informer of a resource holding namespace `ns`. */
  #pick(r: Resource, ns: string): Informer | undefined {
    const list = this.#of(r);
    return !r.namespaced || !this.#opts.namespaces.length ? list[0] : list[this.#opts.namespaces.indexOf(ns)];
  }

  #of(r: Resource): Informer[] {
    const list = this.#informers.get(idOf(r));
    if (!list) throw new Error(`${r.plural} are not watched`); // a controller reads only what it declared
    return list;
  }

  #caches(): Caches {
    return {
      get: (r, key) => this.#pick(r, key.split("/")[0])?.get(key),
      list: (r, ns) =>
        ns === undefined || !r.namespaced
          ? this.#of(r).flatMap((i) => i.list())
          : (this.#pick(r, ns)?.list() ?? []).filter((o) => o.metadata?.namespace === ns),
    };
  }

  /** Every informer. */
  get informers(): Informer[] {
    return [...this.#informers.values()].flat();
  }

  async #resumeWhenSynced(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.synced()));
    if (!this.#leading) return;
    if (this.#opts.paused) {
      this.#opts.log.warn("reconciling is paused for this cluster: nothing is changed until it is resumed");
      return;
    }
    for (const o of this.#primaryObjects()) this.queue.add(keyOf(o)); // level-triggered: a new leader looks at all
    this.queue.resume();
  }

  #primaryObjects(): KubeObject[] {
    return this.#of(this.#primary).flatMap((i) => i.list());
  }

  /** Runs until `signal` aborts, then stops taking work, lets in-flight reconciles finish and releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    const stopInformers = new AbortController();
    const informers = this.informers.map((i) => i.run(stopInformers.signal));
    const electorStop = new AbortController();
    const elector = this.#leadership?.run(electorStop.signal);
    if (!this.#leadership) this.#resumeWhenSynced();
    const m = this.#opts.metrics, cluster = { cluster: this.name }, p = this.#progress;
    const objects = () => this.#leading && !this.#opts.paused ? this.#primaryObjects() : undefined;
    const report = (s?: number) =>
      s === undefined ? m.oldestPassDue.delete(cluster) : m.oldestPassDue.set(cluster, s);
    if (p) runProgressCheck(p, objects, report, stopInformers.signal);
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
      leaseHolder: this.#leadership?.elector.holder,
      queueDepth: this.queue.depth,
      concurrency: this.queue.concurrency,
      ...(this.#lastContact ? { lastContact: new Date(this.#lastContact).toISOString() } : {}),
      ...(lastError ? { lastError } : {}),
      ...(this.#opts.paused ? { paused: true } : {}),
    };
  }
}

/**
 * What a controller declares to the per-cluster runtime, in controller-runtime's For/Owns/Watches shape: the
 * resource it reconciles, the resources whose objects belong to one of those, other resources that point at them,
 * and how it reconciles a key. The runtime builds the informers, queue and lease from this alone, so it knows no
 * particular resource; a controller (reconcilers/mysql_controller.ts) registers itself with the operator.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { KubeClient, KubeObject } from "./kube/client.ts";
import type { Resource } from "./kube/resources.ts";
import type { InformerOptions } from "./informer.ts";
import type { ErrorPolicy, HandlerResult } from "./work_queue.ts";
import type { EventRecorder } from "./events.ts";
import type { OperatorMetrics } from "./metrics.ts";

/** What an informer keeps of each object and how it lists (runtime/projection.ts); default: all but managedFields. */
export type CacheOptions = Pick<InformerOptions, "project" | "pageSize" | "metadataOnly">;

/** Read access to one cluster's caches, by resource; objects outside the served namespaces are never there. */
export interface Caches {
  /** The cached object with this key (`ns/name`, or `name` when cluster-scoped). */
  get(resource: Resource, key: string): KubeObject | undefined;
  /** Every cached object of the resource; of one namespace when given. */
  list(resource: Resource, namespace?: string): KubeObject[];
}

/** A watched resource: which objects (by label) and what of them to cache. */
export interface WatchedResource {
  resource: Resource;
  /** Watch only objects with these labels; undefined: all. */
  labelSelector?: string;
  cache?: CacheOptions;
}

/** Objects owned by a reconciled object (Owns): a change queues the owner's key, if any. */
export interface OwnedResource extends WatchedResource {
  mapToKey(obj: KubeObject): string | undefined;
}

/** Any other resource (Watches): a change queues every key it maps to (reading the caches if it must). */
export interface RelatedResource extends WatchedResource {
  mapToKeys(obj: KubeObject, caches: Caches): string[];
}

/** What the runtime of one cluster hands a controller to build its context from. */
export interface ControllerEnv {
  /** The kubeconfig context name (the `cluster` label everywhere). */
  cluster: string;
  client: KubeClient;
  caches: Caches;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  /** Clock (tests may pin it). */
  now(): Date;
}

/**
 * A controller. Namespaced resources are watched in every served namespace, cluster-scoped ones once; a key whose
 * namespace is not served is dropped, whichever watch it came from.
 */
export interface Controller<Context> {
  /** The reconciled resource (For): every change queues the object's own key. */
  for: { resource: Resource; cache?: CacheOptions };
  owns: OwnedResource[];
  watches: RelatedResource[];
  /** Builds the context of one cluster, once, before anything is reconciled there. */
  context(env: ControllerEnv): Context;
  /**
   * True when a reconciled object's state (with the caches) says a pass is due that has not happened; the runtime
   * reports the oldest such object and queues one again when it is late (runtime/progress_check.ts).
   */
  passDue?(obj: KubeObject, caches: Caches): boolean;
  /** One pass over a key (`ns/name`); a throw goes to {@linkcode errorPolicy}. */
  reconcile(ctx: Context, key: string): Promise<HandlerResult | void>;
  errorPolicy: ErrorPolicy;
}

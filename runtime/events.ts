/**
 * Kubernetes Events about the objects a controller reconciles (core/v1, so `kubectl describe` shows them).
 * Identical events within a window are folded, so a pass repeated by a resync does not write again.
 *
 * @module
 */
import type { KubeClient } from "./kube/client.ts";
import { collectionPath, RESOURCES } from "./kube/resources.ts";

/** What an event is about: any namespaced object as read from the API server. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** Sends events for one cluster. */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #onError: (err: unknown) => void;

  /** `windowMs`: identical events inside it are sent once. */
  constructor(client: KubeClient, onError: (err: unknown) => void, windowMs = 600_000) {
    this.#client = client;
    this.#onError = onError;
    this.#windowMs = windowMs;
  }

  /** Emits an event; failures are reported to `onError`, never thrown (events are best effort). */
  async emit(obj: EventSubject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const id = `${obj.metadata.uid}\u0000${reason}\u0000${message}`;
    const now = Date.now();
    const last = this.#seen.get(id);
    if (last !== undefined && now - last < this.#windowMs) return;
    this.#seen.set(id, now);
    if (this.#seen.size > 10_000) {
      for (const [k, t] of this.#seen) if (now - t >= this.#windowMs) this.#seen.delete(k);
    }
    const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${obj.metadata.name}.`, namespace: obj.metadata.namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1000),
      source: { component: "mysql-operator" },
      reportingComponent: "mysql-operator",
      reportingInstance: "mysql-operator",
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      await this.#client.create(
        collectionPath(RESOURCES.event, obj.metadata.namespace),
        event,
        "mysql-operator",
      );
    } catch (err) {
      this.#seen.delete(id);
      this.#onError(err);
    }
  }
}

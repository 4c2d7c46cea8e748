/**
 * What every reconcile works on: one cluster's client, cache, logger, event recorder and settings. Nothing is
 * global, so serving more clusters means more contexts, not a different core.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { KubeClient, KubeObject } from "../runtime/kube/client.ts";
import type { MySQL, MySQLStatus } from "../api/mysql.ts";
import type { RenderOptions } from "../templates/mod.ts";

/** Read access to the informer caches of one cluster. */
export interface ClusterCache {
  /** A MySQL object by `ns/name`. */
  mysql(key: string): MySQL | undefined;
  /** A namespaced child by kind and `ns/name`. */
  child(
    kind: "Deployment" | "Service" | "PersistentVolumeClaim" | "Secret",
    key: string,
  ): KubeObject | undefined;
  /** A PersistentVolume by name. */
  pv(name: string): KubeObject | undefined;
  /** Every cached PersistentVolume (the operator's, by label). */
  pvs(): KubeObject[];
  /** True when the namespace is being deleted (its deletion was seen: a positive fact, never a cache miss). */
  namespaceTerminating(namespace: string): boolean;
  /** Jobs of an instance (by the app.kubernetes.io/instance label) in a namespace. */
  jobs(namespace: string, instance: string): KubeObject[];
}

/** Records Kubernetes Events about a MySQL object. */
export interface EventSink {
  /** Emits an event; repeated identical events within a while are folded. */
  emit(obj: MySQL, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

/** Operator-wide settings of reconciles. */
export interface ReconcileOptions {
  render: RenderOptions;
  /** First delay and cap of retries of a failed final backup. */
  finalBackupRetry: { baseMs: number; maxMs: number };
  /** How often to re-check an object whose referenced Secret is missing (Secrets are not watched). */
  secretRecheckMs: number;
  /** Periodic resync of every object (catches anything a watch missed). */
  resyncMs: number;
}

/** Defaults of {@linkcode ReconcileOptions}. */
export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = {
  render: { hostPathRoot: "/tmp/hostpath_pv" },
  finalBackupRetry: { baseMs: 10_000, maxMs: 300_000 },
  secretRecheckMs: 30_000,
  resyncMs: 600_000,
};

/** Context of one cluster. */
export interface ClusterContext {
  /** The kubeconfig context name. */
  cluster: string;
  client: KubeClient;
  cache: ClusterCache;
  log: Logger;
  events: EventSink;
  options: ReconcileOptions;
  /** Clock (tests may pin it). */
  now(): Date;
  /** Observes outcomes for metrics; optional. */
  observe?: {
    backupSucceeded?(obj: MySQL, time: Date): void;
    backupFailed?(obj: MySQL): void;
    /** Data kept on a volume without a final backup (its namespace was deleted). */
    volumeRetained?(obj: MySQL): void;
    /** The status a pass left (for the per-instance series). */
    instance?(obj: MySQL, status: MySQLStatus): void;
    /** The object is gone: its series go too. */
    instanceGone?(namespace: string, name: string): void;
  };
}

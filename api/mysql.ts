/**
 * The `MySQL` custom resource (`mysqls.otus.homework/v1`): its names and constants, the object's type, and the
 * run-time check of an object. The spec and status are described once, as zod schemas (api/spec_schema.ts,
 * api/status_schema.ts): their types are re-exported here, and the CRD is generated from them (api/crd.ts).
 *
 * @module
 */
import { MAX_NAME_LENGTH, NAME_MESSAGE, NAME_REGEX } from "./rules.ts";
import { type MySQLSpec, mysqlSpecSchema } from "./spec_schema.ts";
import type { MySQLStatus } from "./status_schema.ts";

export type {
  BackupSpec,
  MySQLSpec,
  ObjectStoreSpec,
  ResourceRequirements,
  RestoreFromSpec,
  SecretKeyRef,
} from "./spec_schema.ts";
export type { Condition, MySQLStatus, RestoreStatus } from "./status_schema.ts";
export { MAX_NAME_LENGTH } from "./rules.ts";

/** API group of the custom resource. */
export const GROUP = "otus.homework";
/** The only served and stored version. */
export const VERSION = "v1";
/** `apiVersion` of MySQL objects. */
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Kind of the custom resource. */
export const KIND = "MySQL";
/** Plural resource name. */
export const PLURAL = "mysqls";

/** Finalizer that guarantees the final backup runs before any data goes. */
export const FINALIZER = `${GROUP}/final-backup`;
/** Field manager used for every server-side apply. */
export const FIELD_MANAGER = "mysql-operator";

/** Annotations users set on a MySQL object. */
export const ANNOTATIONS = {
  /** `"true"`: delete without the final backup (data is lost; the user asked for it). */
  skipFinalBackup: `${GROUP}/skip-final-backup`,
  /** Any new value asks for one backup now; the operator records the value it handled in status. */
  backupNow: `${GROUP}/backup-now`,
  /**
   * Any new value asks for one read-only backup (`mysql-operator migrate` sets it): writes are stopped for good
   * first, the tables' sums go into the manifest, and `status.migrateBackup` names the backup and the value.
   */
  migrateBackup: `${GROUP}/migrate-backup`,
  /** On a MySQL made by `mysql-operator migrate`: `CONTEXT/NAMESPACE/NAME` of its source (what a re-run continues). */
  migratedFrom: `${GROUP}/migrated-from`,
  /** On a MySQL made by `mysql-operator migrate`: the UID of the source object it was made from. */
  migratedFromUid: `${GROUP}/migrated-from-uid`,
  /**
   * `paused`: the operator changes nothing of this instance (no child written or put back, no backup or restore
   * started) until the annotation goes or says `active`; a deletion is still guarded by the final backup. Any
   * other value pauses too (the safe side of a typo) and the status says the value was not understood.
   */
  reconcile: `${GROUP}/reconcile`,
  /** On the backup PVC: time of the newest successful backup (how a re-created instance knows one exists). */
  lastBackupTime: `${GROUP}/last-backup-time`,
  /** On the backup PVC: file of the newest successful backup. */
  lastBackup: `${GROUP}/last-backup`,
} as const;

/** Default number of complete backups kept per instance. */
export const DEFAULT_BACKUP_RETENTION = 7;
/** Default size of the shared backup volume. */
export const DEFAULT_BACKUP_STORAGE_SIZE = "1Gi";
/** Default key inside a Secret named by `passwordSecretRef`. */
export const DEFAULT_PASSWORD_KEY = "password";

/** A MySQL object as read from the API server. */
export interface MySQL {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec: MySQLSpec;
  status?: MySQLStatus;
}

/** Result of {@linkcode validateMySQL}: the typed spec or a human-readable reason. */
export type Validation = { ok: true; spec: MySQLSpec } | { ok: false; message: string };

/** Validates an object's name and spec; never throws. */
export function validateMySQL(obj: { metadata?: { name?: string }; spec?: unknown }): Validation {
  const name = obj.metadata?.name ?? "";
  if (!new RegExp(NAME_REGEX).test(name) || name.length > MAX_NAME_LENGTH) {
    return { ok: false, message: NAME_MESSAGE };
  }
  if (obj.spec === undefined || obj.spec === null) return { ok: false, message: "spec is required" };
  const parsed = mysqlSpecSchema.safeParse(obj.spec);
  if (!parsed.success) {
    // One message per rule, however many checks of it failed.
    return { ok: false, message: [...new Set(parsed.error.issues.map((i) => i.message))].join("; ") };
  }
  return { ok: true, spec: parsed.data };
}

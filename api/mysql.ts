/**
 * The `MySQL` custom resource (`mysqls.otus.homework/v1`): TypeScript types, constants and the zod schema the
 * reconciler uses for what the CRD's OpenAPI + CEL rules cannot check.
 *
 * @module
 */
import { z } from "zod";
import type { Phase } from "./status.ts";

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
  /** On the backup PVC: time of the newest successful backup (how a re-created instance knows one exists). */
  lastBackupTime: `${GROUP}/last-backup-time`,
  /** On the backup PVC: file of the newest successful backup. */
  lastBackup: `${GROUP}/last-backup`,
} as const;

/** Longest object name: every namespaced child name stays a DNS label (63 characters) with this. */
export const MAX_NAME_LENGTH = 40;

/** Default number of complete backups kept per instance. */
export const DEFAULT_BACKUP_RETENTION = 7;
/** Default size of the shared backup volume. */
export const DEFAULT_BACKUP_STORAGE_SIZE = "1Gi";
/** Default key inside a Secret named by `passwordSecretRef`. */
export const DEFAULT_PASSWORD_KEY = "password";

/** Reference to a key of a Secret in the object's namespace. */
export interface SecretKeyRef {
  name: string;
  key?: string;
}

/** Compute resources of the mysqld container (a subset of core/v1 ResourceRequirements). */
export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

/** Backup settings. */
export interface BackupSpec {
  /** Image of backup and restore Jobs; defaults to `spec.image`. */
  image?: string;
  /** Cron schedule of periodic backups (standard 5-field cron, UTC). Unset: backups only on demand and deletion. */
  schedule?: string;
  /** How many complete backups to keep (newest first); the newest good one is never deleted. */
  retention?: number;
  /** Size of the backup volume (created once, reused, never deleted by the operator). */
  storage_size?: string;
  /** Storage class of the backup volume; defaults to `spec.storageClassName`. */
  storageClassName?: string;
}

/** Desired state of a MySQL instance. Field names of the course (`storage_size`) are kept. */
export interface MySQLSpec {
  /** mysqld image, e.g. `mysql:8.4` or `mariadb:11`. */
  image: string;
  /** Database created on first start. */
  database: string;
  /** Root password in plain text (course compatibility; copied into an owned Secret). */
  password?: string;
  /** Root password from an existing Secret (recommended). */
  passwordSecretRef?: SecretKeyRef;
  /** Size of the data volume (a Kubernetes quantity). */
  storage_size: string;
  /** Storage class of the data PV/PVC (the operator-made hostPath PV carries it too). */
  storageClassName?: string;
  /** Compute resources of mysqld. */
  resources?: ResourceRequirements;
  /** Backup settings. */
  backup?: BackupSpec;
}

/** A status condition (the shape of metav1.Condition). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** What the last restore did. */
export interface RestoreStatus {
  /** `Restored`, `NothingToRestore`, `KeptData` (a volume kept from an earlier incarnation is used) or `Failed`. */
  result: "Restored" | "NothingToRestore" | "KeptData" | "Failed";
  /** Backup file that was loaded. */
  backup?: string;
  /** When the result was recorded. */
  time: string;
  message?: string;
}

/** Observed state of a MySQL instance. */
export interface MySQLStatus {
  observedGeneration?: number;
  /** Coarse summary for humans: one of `PHASES` (api/status.ts). */
  phase?: Phase;
  conditions?: Condition[];
  /** Time of the last successful backup (RFC 3339). */
  lastBackupTime?: string;
  /** File name of the last successful backup. */
  lastBackup?: string;
  /** Last failed backup. */
  lastBackupFailure?: { time: string; reason: string; message?: string };
  /** Value of the backup-now annotation that was acted on. */
  backupNowHandled?: string;
  /** Outcome of the one restore at first creation. */
  restore?: RestoreStatus;
  /** ClusterIP of the Service (what Jobs connect to). */
  serviceIP?: string;
  /** Name of the last backup Job whose outcome was recorded (so each outcome is recorded once). */
  lastBackupJob?: string;
  /** Failed final-backup attempts during the current deletion (names the next attempt's Job, drives backoff). */
  finalBackupAttempts?: number;
  /** Restore attempts of this incarnation that could not connect to mysqld (drives their backoff and limit). */
  restoreAttempts?: number;
  /** UID of the last restore Job counted in restoreAttempts and deleted for a retry (counted once, however stale the cache). */
  restoreRetriedJob?: string;
  /** Time of the final backup that allowed the deletion to proceed. */
  finalBackupTime?: string;
  /**
   * UID of the data claim once it was bound: the fact that this incarnation has data (a claim relabelled, adopted
   * or deleted by hand does not make the operator forget it).
   */
  dataClaimUID?: string;
  /** Name of the data volume (a storage class's PV once bound, or a volume kept from an earlier incarnation). */
  dataVolumeName?: string;
  /** A provisioned backup volume an earlier incarnation left, taken back by the new backup claim. */
  backupVolumeName?: string;
  /** Last schedule slot a scheduled backup was started for (RFC 3339). */
  lastScheduledSlot?: string;
}

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

const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes quantity, the same expression the API server uses. */
export const QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";
/** A MySQL identifier that needs no quoting beyond backticks and is safe as a file name. */
export const DATABASE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$";

/**
 * A Secret's name: a DNS subdomain, so it is never `.` or `..` and holds no `/` (a name goes into a URL path).
 * `[.]` instead of an escaped dot: the same text serves as a CEL string literal.
 */
export const SECRET_NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/** Message for a `passwordSecretRef.name` that is not a Secret name (the CRD and the run-time check say the same). */
export const SECRET_NAME_MESSAGE =
  "spec.passwordSecretRef.name must be a Secret name of at most 253 characters: " +
  "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
/** MySQL's own schemas: never an instance's database (the operator creates, dumps and restores it). */
export const SYSTEM_SCHEMAS = ["mysql", "sys", "information_schema", "performance_schema"] as const;
/** Message for a system schema as `spec.database` (the CRD and the run-time check say the same). */
export const SYSTEM_SCHEMA_MESSAGE = `spec.database must not be a system schema (${
  SYSTEM_SCHEMAS.join(", ")
})`;

/** Whether `database` names a system schema (MySQL compares schema names case-insensitively on some systems). */
export function isSystemSchema(database: string): boolean {
  return (SYSTEM_SCHEMAS as readonly string[]).includes(database.toLowerCase());
}

/**
 * The parts of the spec the reconciler relies on, checked again at run time: objects written before the CRD had
 * its rules, or by a cluster whose CRD is older, still get a clear condition instead of a crash.
 */
export const mysqlSpecSchema = z.object({
  image: z.string().min(1, "spec.image must not be empty"),
  database: z.string().regex(new RegExp(DATABASE_PATTERN), "spec.database must match " + DATABASE_PATTERN)
    .refine((v) => !isSystemSchema(v), SYSTEM_SCHEMA_MESSAGE),
  password: z.string().min(1).optional(),
  passwordSecretRef: z.object({
    name: z.string().max(253, SECRET_NAME_MESSAGE).regex(
      new RegExp(SECRET_NAME_PATTERN),
      SECRET_NAME_MESSAGE,
    ),
    key: z.string().min(1).optional(),
  }).optional(),
  storage_size: z.string().regex(
    new RegExp(QUANTITY_PATTERN),
    "spec.storage_size must be a quantity such as 1Gi",
  )
    .refine(
      (v) => !/^[+-]?0*(\.0*)?[a-zA-Z]*$/.test(v) && !v.startsWith("-"),
      "spec.storage_size must be more than 0",
    ),
  storageClassName: z.string().optional(),
  resources: z.object({
    requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    limits: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  }).optional(),
  backup: z.object({
    image: z.string().min(1).optional(),
    schedule: z.string().min(1).optional(),
    retention: z.number().int().min(1).max(1000).optional(),
    storage_size: z.string().regex(new RegExp(QUANTITY_PATTERN)).optional(),
    storageClassName: z.string().optional(),
  }).optional(),
}).refine((s) => (s.password === undefined) !== (s.passwordSecretRef === undefined), {
  message: "exactly one of spec.password and spec.passwordSecretRef must be set",
});

/** Result of {@linkcode validateMySQL}: the typed spec or a human-readable reason. */
export type Validation = { ok: true; spec: MySQLSpec } | { ok: false; message: string };

/** Validates an object's name and spec; never throws. */
export function validateMySQL(obj: { metadata?: { name?: string }; spec?: unknown }): Validation {
  const name = obj.metadata?.name ?? "";
  if (!dnsLabel.test(name) || name.length > MAX_NAME_LENGTH) {
    return {
      ok: false,
      message:
        `metadata.name must be a DNS label of at most ${MAX_NAME_LENGTH} characters starting with a letter`,
    };
  }
  if (obj.spec === undefined || obj.spec === null) return { ok: false, message: "spec is required" };
  const parsed = mysqlSpecSchema.safeParse(obj.spec);
  if (!parsed.success) {
    return { ok: false, message: parsed.error.issues.map((i) => i.message).join("; ") };
  }
  return { ok: true, spec: parsed.data as MySQLSpec };
}

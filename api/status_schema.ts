/**
 * `status` of a MySQL object, described once: the zod schema the TypeScript types come from (`z.infer`) and,
 * through api/crd.ts, the CRD's OpenAPI schema of the status subresource. Only the operator writes status, so
 * nothing parses it at run time.
 *
 * @module
 */
import { z } from "zod";
import { type Phase, PHASES } from "./status.ts";

/** An RFC 3339 time (a string to zod; `format: date-time` to the API server). */
const time = (description: string) => z.string().max(64).meta({ format: "date-time", description });
/** A non-negative count; `format` as metav1 writes it. */
const count = (format: "int32" | "int64") => z.number().int().min(0).meta({ format });

/** The shape of metav1.Condition. */
export const conditionSchema = z.object({
  // As metav1 writes it (a RegExp's source would spell the slash `\/`; status is never parsed at run time).
  type: z.string().max(316).meta({
    pattern:
      "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
  }),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: count("int64").optional(),
  lastTransitionTime: time("When the status last changed."),
  reason: z.string().min(1).max(1024).regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
});

/** What the last restore did. */
export const restoreStatusSchema = z.object({
  /** `KeptData`: a volume kept from an earlier incarnation is used. */
  result: z.enum(["Restored", "NothingToRestore", "KeptData", "Failed"]),
  /** Backup file that was loaded. */
  backup: z.string().max(1024).optional(),
  time: time("When the result was recorded."),
  message: z.string().max(4096).optional(),
  /** Tables whose row count and checksum the restore compared with the backup's manifest (read-only backups). */
  verifiedTables: z.number().int().min(0).optional(),
});

/** Observed state of a MySQL instance. */
export const mysqlStatusSchema = z.object({
  observedGeneration: count("int64").optional(),
  /** Coarse summary for humans: one of `PHASES` (api/status.ts); a string to the API server. */
  phase: z.string().max(64).meta({ description: `${Object.values(PHASES).join(", ")}.` }).optional(),
  conditions: z.array(conditionSchema).max(32)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }).optional(),
  lastBackupTime: time("Time of the last successful backup.").optional(),
  lastBackup: z.string().max(1024).meta({ description: "File of the last successful backup." }).optional(),
  lastBackupBytes: count("int64").meta({ description: "Size in bytes of the last successful backup." })
    .optional(),
  lastBackupFailure: z.object({
    time: time("When the backup failed."),
    reason: z.string().max(256),
    message: z.string().max(4096).optional(),
  }).optional(),
  backupNowHandled: z.string().max(256)
    .meta({ description: "Value of the backup-now annotation that was acted on." }).optional(),
  migrateBackupHandled: z.string().max(256)
    .meta({ description: "Value of the migrate-backup annotation that was acted on." }).optional(),
  migrateBackup: z.object({
    token: z.string().max(256).meta({ description: "The migrate-backup value it answers." }),
    backup: z.string().max(1024).meta({ description: "File of the read-only backup (when it succeeded)." })
      .optional(),
    time: time("When the backup started (writes were stopped before), or failed."),
    tables: z.number().int().min(0).meta({ description: "How many tables' sums its manifest holds." })
      .optional(),
    failure: z.object({ reason: z.string().max(256), message: z.string().max(4096).optional() }).optional(),
  }).meta({ description: "The read-only backup `mysql-operator migrate` asked for, or why it failed." })
    .optional(),
  /** Outcome of the one restore at first creation. */
  restore: restoreStatusSchema.optional(),
  serviceIP: z.string().max(64).meta({ description: "ClusterIP of the Service (what the Jobs connect to)." })
    .optional(),
  /** So that each backup Job's outcome is recorded once. */
  lastBackupJob: z.string().max(253)
    .meta({ description: "The last backup Job whose outcome was recorded." }).optional(),
  /** Failed final-backup attempts during the current deletion (names the next attempt's Job, drives backoff). */
  finalBackupAttempts: count("int32").optional(),
  /** Restore attempts of this incarnation that could not connect to mysqld (their backoff and limit). */
  restoreAttempts: count("int32").optional(),
  /** Counted in restoreAttempts and deleted for a retry once, however stale the cache. */
  restoreRetriedJob: z.string().max(64)
    .meta({ description: "UID of the last restore Job retried after a connection failure." }).optional(),
  finalBackupTime: time("Time of the final backup that let the deletion proceed.").optional(),
  /**
   * The fact that this incarnation has data: a claim relabelled, adopted or deleted by hand does not make the
   * operator forget it.
   */
  dataClaimUID: z.string().max(64)
    .meta({ description: "UID of the data claim once bound: this incarnation has data." }).optional(),
  dataVolumeName: z.string().max(253)
    .meta({ description: "Name of the data volume (provisioned, or kept from before)." }).optional(),
  backupVolumeName: z.string().max(253)
    .meta({ description: "A provisioned backup volume of an earlier incarnation, taken back." }).optional(),
  lastScheduledSlot: time("Last schedule slot a scheduled backup was started for.").optional(),
}).meta({ description: "Observed state of a MySQL instance (written by the operator)." });

/** A status condition (the shape of metav1.Condition). */
export type Condition = z.infer<typeof conditionSchema>;
/** What the last restore did (`status.restore`). */
export type RestoreStatus = z.infer<typeof restoreStatusSchema>;
/** Observed state of a MySQL instance; `phase` is typed as one of `PHASES`. */
export type MySQLStatus = Omit<z.infer<typeof mysqlStatusSchema>, "phase"> & { phase?: Phase };

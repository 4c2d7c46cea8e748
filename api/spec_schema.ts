/**
 * `spec` of a MySQL object, described once: this zod schema is the run-time check of the reconciler, the source of
 * the TypeScript types (`z.infer`), and, through api/crd.ts, the CRD's OpenAPI schema. What OpenAPI says (lengths,
 * patterns, ranges) zod checks too; the CEL rules ride along as metadata (`x-kubernetes-validations`) and each has
 * a run-time twin here (`refine`), with the same message, for objects the CRD never checked (written before it had
 * its rules, or to a cluster whose CRD is older).
 *
 * @module
 */
import { z } from "zod";
import {
  BACKUP_FILE_MESSAGE,
  BACKUP_FILE_REGEX,
  BACKUP_FILE_RULE,
  BUCKET_MESSAGE,
  BUCKET_REGEX,
  BUCKET_RULE,
  DATABASE_PATTERN,
  DATABASE_RULE,
  ENDPOINT_MESSAGE,
  ENDPOINT_REGEX,
  ENDPOINT_RULE,
  isPositiveQuantity,
  isSystemSchema,
  MAX_NAME_LENGTH,
  NAME_REGEX,
  NAMESPACE_REGEX,
  PASSWORD_MESSAGE,
  PASSWORD_RULE,
  PREFIX_MESSAGE,
  PREFIX_REGEX,
  PREFIX_RULE,
  QUANTITY_PATTERN,
  QUANTITY_RULE,
  quantityMessage,
  RESTORE_FROM_MESSAGE,
  RESTORE_FROM_RULE,
  SCHEDULE_MESSAGE,
  SCHEDULE_RULE,
  SECRET_NAME_MESSAGE,
  SECRET_NAME_PATTERN,
  SECRET_NAME_RULE,
  SOURCE_CLUSTER_MESSAGE,
  SOURCE_CLUSTER_REGEX,
  SOURCE_CLUSTER_RULE,
  SOURCE_NAME_MESSAGE,
  SOURCE_NAME_RULE,
  SOURCE_NAMESPACE_MESSAGE,
  SOURCE_NAMESPACE_RULE,
  STORE_SECRET_NAME_MESSAGE,
  SYSTEM_SCHEMA_MESSAGE,
} from "./rules.ts";

/** A CEL rule of the CRD (`x-kubernetes-validations`) as schema metadata. */
export function celRule(rule: string, message: string): { "x-kubernetes-validations": object[] } {
  return { "x-kubernetes-validations": [{ rule, message }] };
}

/** A positive Kubernetes quantity. */
function quantity(field: string, description: string) {
  return z.string().max(64).regex(new RegExp(QUANTITY_PATTERN), `${field} must be a quantity such as 1Gi`)
    .refine(isPositiveQuantity, quantityMessage(field))
    .meta({ description, ...celRule(QUANTITY_RULE, quantityMessage(field)) });
}

/**
 * A resource list: quantities by resource name. Values are integers or strings (`x-kubernetes-int-or-string`);
 * the pattern and the count are for the API server only (the run time passes them through to the Deployment).
 */
const resourceList = z.record(
  z.string(),
  z.union([z.number().int(), z.string()]).meta({
    pattern: QUANTITY_PATTERN,
    "x-kubernetes-int-or-string": true,
  }),
).meta({ maxProperties: 16 });

/** A string matching `regex`, checked by a CEL rule with `message` in the CRD and by its twin at run time. */
function matching(regex: string, rule: string, message: string, maxLength: number, description: string) {
  // maxLength is for the API server's cost estimate of the CEL rule; the twin says the rule's message.
  return z.string().max(maxLength, message).refine((v) => new RegExp(regex).test(v), message)
    .meta({ description, ...celRule(rule, message) });
}

/** A Secret key name. */
const secretKey = (description: string) =>
  z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/).meta({ description }).optional();

/**
 * An S3-compatible object store as the backup target (instead of the backup volume). Keys come only from the
 * Secret, which the Jobs read through secretKeyRef and the operator reads to list and prune the bucket.
 */
export const objectStoreSchema = z.object({
  endpoint: matching(
    ENDPOINT_REGEX,
    ENDPOINT_RULE,
    ENDPOINT_MESSAGE,
    256,
    "Endpoint URL, e.g. https://s3.amazonaws.com.",
  ),
  bucket: matching(BUCKET_REGEX, BUCKET_RULE, BUCKET_MESSAGE, 63, "Bucket (it must exist)."),
  prefix: matching(
    PREFIX_REGEX,
    PREFIX_RULE,
    PREFIX_MESSAGE,
    256,
    "Key prefix in front of <cluster>/<namespace>/<name>/.",
  )
    .optional(),
  region: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/)
    .meta({ description: "Region for request signing (default us-east-1)." }).optional(),
  credentialsSecretRef: z.object({
    name: z.string().max(253, STORE_SECRET_NAME_MESSAGE)
      .refine((v) => new RegExp(SECRET_NAME_PATTERN).test(v), STORE_SECRET_NAME_MESSAGE)
      .meta({
        minLength: 1,
        description: "Name of the Secret.",
        ...celRule(SECRET_NAME_RULE, STORE_SECRET_NAME_MESSAGE),
      }),
    accessKeyIdKey: secretKey("Key of the access key ID (default AWS_ACCESS_KEY_ID)."),
    secretAccessKeyKey: secretKey("Key of the secret access key (default AWS_SECRET_ACCESS_KEY)."),
  }).meta({ description: "Secret in the object's namespace holding the store's keys." }),
  insecureSkipTLSVerify: z.boolean()
    .meta({ description: "Accept any TLS certificate of the endpoint (test stores only)." }).optional(),
}).meta({
  description: "S3-compatible object store to back up to and restore from (default: the backup volume).",
});

/** Backup settings. */
export const backupSpecSchema = z.object({
  image: z.string().min(1).max(1024).meta({
    description: "Image of backup and restore Jobs (default: spec.image).",
  })
    .optional(),
  // Whether it is a valid schedule is the BackupReady condition's business (InvalidSchedule): the spec stays usable.
  schedule: z.string().max(100).refine((v) => v.length > 0, "spec.backup.schedule must not be empty").meta({
    description: "Cron schedule of periodic backups (5 fields, UTC); unset: only on demand and on deletion.",
    ...celRule(SCHEDULE_RULE, SCHEDULE_MESSAGE),
  }).optional(),
  retention: z.number().int().min(1).max(1000)
    .meta({ description: "How many complete backups to keep (default 7)." }).optional(),
  storage_size: quantity("spec.backup.storage_size", "Size of the backup volume (default 1Gi).").optional(),
  storageClassName: z.string().max(253)
    .meta({ description: "Storage class of the backup volume (default: spec.storageClassName)." }).optional(),
  objectStore: objectStoreSchema.optional(),
}).meta({ description: "Backup settings." });

/**
 * Restore another instance's backup when this one is created (from its folder in the same object store; from
 * another cluster's folder when the store is shared). Only when this instance has no backup of its own: a
 * re-created instance restores its own newest backup, never the source's again.
 */
export const restoreFromSchema = z.object({
  cluster: matching(
    SOURCE_CLUSTER_REGEX,
    SOURCE_CLUSTER_RULE,
    SOURCE_CLUSTER_MESSAGE,
    253,
    "Kubeconfig context of the source (default: this instance's cluster).",
  ).optional(),
  namespace: matching(
    NAMESPACE_REGEX,
    SOURCE_NAMESPACE_RULE,
    SOURCE_NAMESPACE_MESSAGE,
    63,
    "Source namespace.",
  ),
  name: z.string().max(MAX_NAME_LENGTH, SOURCE_NAME_MESSAGE)
    .refine((v) => new RegExp(NAME_REGEX).test(v), SOURCE_NAME_MESSAGE)
    .meta({ description: "Source MySQL object's name.", ...celRule(SOURCE_NAME_RULE, SOURCE_NAME_MESSAGE) }),
  backup: matching(
    BACKUP_FILE_REGEX,
    BACKUP_FILE_RULE,
    BACKUP_FILE_MESSAGE,
    253,
    "One backup's file name (default: the source's newest good backup).",
  ).optional(),
}).meta({ description: "Restore another instance's backup on creation (needs spec.backup.objectStore)." });

/** Desired state of a MySQL instance. Field names of the course (`storage_size`) are kept. */
export const mysqlSpecSchema = z.object({
  image: z.string().min(1, "spec.image must not be empty").max(1024)
    .meta({ description: "mysqld image, e.g. mysql:8.4 or mariadb:11." }),
  // The pattern holds at most 64 characters; maxLength is for the API server's cost estimate of the CEL rule.
  database: z.string().regex(new RegExp(DATABASE_PATTERN), "spec.database must match " + DATABASE_PATTERN)
    .refine((v) => !isSystemSchema(v), SYSTEM_SCHEMA_MESSAGE)
    .meta({
      maxLength: 64,
      description: "Database created on first start (not a system schema).",
      ...celRule(DATABASE_RULE, SYSTEM_SCHEMA_MESSAGE),
    }),
  password: z.string().min(1).max(256)
    .meta({ description: "Root password in plain text (course compatibility; prefer passwordSecretRef)." })
    .optional(),
  passwordSecretRef: z.object({
    // The CEL rule's twin implies a non-empty name; minLength is for the API server (one message at run time).
    name: z.string().max(253, SECRET_NAME_MESSAGE)
      .refine((v) => new RegExp(SECRET_NAME_PATTERN).test(v), SECRET_NAME_MESSAGE)
      .meta({
        minLength: 1,
        description: "Name of the Secret.",
        ...celRule(SECRET_NAME_RULE, SECRET_NAME_MESSAGE),
      }),
    key: z.string().min(1).max(253).regex(/^[-._a-zA-Z0-9]+$/)
      .meta({ description: "Key inside the Secret (default: password)." }).optional(),
  }).meta({ description: "Root password from a Secret in the object's namespace." }).optional(),
  storage_size: quantity("spec.storage_size", "Size of the data volume, e.g. 1Gi."),
  storageClassName: z.string().max(253).meta({
    description: "Storage class of the data volume; unset: the operator makes a hostPath PersistentVolume.",
  }).optional(),
  resources: z.object({ requests: resourceList.optional(), limits: resourceList.optional() })
    .meta({ description: "Compute resources of mysqld." }).optional(),
  backup: backupSpecSchema.optional(),
  restoreFrom: restoreFromSchema.optional(),
}).refine((s) => (s.password === undefined) !== (s.passwordSecretRef === undefined), PASSWORD_MESSAGE)
  .refine((s) => !s.restoreFrom || Boolean(s.backup?.objectStore), RESTORE_FROM_MESSAGE)
  .meta({
    description: "Desired state of a MySQL instance.",
    "x-kubernetes-validations": [
      { rule: PASSWORD_RULE, message: PASSWORD_MESSAGE },
      { rule: RESTORE_FROM_RULE, message: RESTORE_FROM_MESSAGE },
    ],
  });

/** Desired state of a MySQL instance (`spec`). */
export type MySQLSpec = z.infer<typeof mysqlSpecSchema>;
/** Backup settings (`spec.backup`). */
export type BackupSpec = z.infer<typeof backupSpecSchema>;
/** Another instance's backup to restore on creation (`spec.restoreFrom`). */
export type RestoreFromSpec = z.infer<typeof restoreFromSchema>;
/** The object store target (`spec.backup.objectStore`). */
export type ObjectStoreSpec = z.infer<typeof objectStoreSchema>;
/** Reference to a key of a Secret in the object's namespace (`spec.passwordSecretRef`). */
export type SecretKeyRef = NonNullable<MySQLSpec["passwordSecretRef"]>;
/** Compute resources of the mysqld container (a subset of core/v1 ResourceRequirements). */
export type ResourceRequirements = NonNullable<MySQLSpec["resources"]>;

/**
 * The CustomResourceDefinition of `mysqls.otus.homework`, as data. api/gen_crd.ts writes it to deploy/crd.yaml and
 * api/crd_test.ts keeps the two equal.
 *
 * Every string has a `maxLength` so the API server can bound the cost of the CEL rules.
 *
 * @module
 */
import {
  DATABASE_PATTERN,
  GROUP,
  KIND,
  MAX_NAME_LENGTH,
  PLURAL,
  QUANTITY_PATTERN,
  SECRET_NAME_MESSAGE,
  SECRET_NAME_PATTERN,
  SYSTEM_SCHEMA_MESSAGE,
  SYSTEM_SCHEMAS,
  VERSION,
} from "./mysql.ts";
import { PHASES } from "./status.ts";

/** Regular expression of a valid object name (a DNS label starting with a letter), as used in the CEL rule. */
export const NAME_REGEX = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
/** Message of the name rule. */
export const NAME_MESSAGE = `metadata.name must be a DNS label of at most ${MAX_NAME_LENGTH} characters: ` +
  "lowercase letters, digits and '-', starting with a letter and ending with a letter or digit";
/** Message of the password rule. */
export const PASSWORD_MESSAGE = "exactly one of spec.password and spec.passwordSecretRef must be set";
/** Five space-separated cron fields (minute hour day-of-month month day-of-week), as used in the CEL rule. */
export const SCHEDULE_REGEX = "^ *[0-9A-Za-z*/,?-]+( +[0-9A-Za-z*/,?-]+){4} *$";

/** CEL rule on the root: the name rule (only `metadata.name` and `generateName` are visible to CEL). */
export const NAME_RULE =
  `self.metadata.name.size() <= ${MAX_NAME_LENGTH} && self.metadata.name.matches('${NAME_REGEX}')`;
/** CEL rule on `spec`: exactly one password source. */
export const PASSWORD_RULE = "has(self.password) != has(self.passwordSecretRef)";
/** CEL rule on quantities: parseable and greater than zero (the pattern alone accepts `0` and `1.2.3`). */
export const QUANTITY_RULE = "isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))";
/** CEL rule on `spec.passwordSecretRef.name`: a Secret name (a DNS subdomain). */
export const SECRET_NAME_RULE = `self.matches('${SECRET_NAME_PATTERN}')`;
/** CEL rule on `spec.database`: not one of MySQL's own schemas, in any case. */
export const DATABASE_RULE = `!(self.lowerAscii() in [${SYSTEM_SCHEMAS.map((s) => `'${s}'`).join(", ")}])`;
/** CEL rule on `spec.backup.schedule`. */
export const SCHEDULE_RULE = `self.matches('${SCHEDULE_REGEX}')`;

type Schema = Record<string, unknown>;

const str = (maxLength: number, extra: Schema = {}): Schema => ({ type: "string", maxLength, ...extra });

function quantity(field: string, description: string): Schema {
  return str(64, {
    description,
    pattern: QUANTITY_PATTERN,
    "x-kubernetes-validations": [{
      rule: QUANTITY_RULE,
      message: `${field} must be a positive Kubernetes quantity such as 1Gi or 500Mi`,
    }],
  });
}

const resourceList: Schema = {
  type: "object",
  maxProperties: 16,
  additionalProperties: {
    anyOf: [{ type: "integer" }, { type: "string" }],
    pattern: QUANTITY_PATTERN,
    "x-kubernetes-int-or-string": true,
  },
};

const specSchema: Schema = {
  type: "object",
  description: "Desired state of a MySQL instance.",
  required: ["image", "database", "storage_size"],
  "x-kubernetes-validations": [{
    rule: PASSWORD_RULE,
    message: PASSWORD_MESSAGE,
  }],
  properties: {
    image: str(1024, { minLength: 1, description: "mysqld image, e.g. mysql:8.4 or mariadb:11." }),
    database: str(64, {
      pattern: DATABASE_PATTERN,
      description: "Database created on first start (not a system schema).",
      "x-kubernetes-validations": [{ rule: DATABASE_RULE, message: SYSTEM_SCHEMA_MESSAGE }],
    }),
    password: str(256, {
      minLength: 1,
      description: "Root password in plain text (course compatibility; prefer passwordSecretRef).",
    }),
    passwordSecretRef: {
      type: "object",
      description: "Root password from a Secret in the object's namespace.",
      required: ["name"],
      properties: {
        name: str(253, {
          minLength: 1,
          description: "Name of the Secret.",
          "x-kubernetes-validations": [{ rule: SECRET_NAME_RULE, message: SECRET_NAME_MESSAGE }],
        }),
        key: str(253, {
          minLength: 1,
          pattern: "^[-._a-zA-Z0-9]+$",
          description: "Key inside the Secret (default: password).",
        }),
      },
    },
    storage_size: quantity("spec.storage_size", "Size of the data volume, e.g. 1Gi."),
    storageClassName: str(253, {
      description: "Storage class of the data volume; unset: the operator makes a hostPath PersistentVolume.",
    }),
    resources: {
      type: "object",
      description: "Compute resources of mysqld.",
      properties: { requests: resourceList, limits: resourceList },
    },
    backup: {
      type: "object",
      description: "Backup settings.",
      properties: {
        image: str(1024, {
          minLength: 1,
          description: "Image of backup and restore Jobs (default: spec.image).",
        }),
        schedule: str(100, {
          description:
            "Cron schedule of periodic backups (5 fields, UTC); unset: only on demand and on deletion.",
          "x-kubernetes-validations": [{
            rule: SCHEDULE_RULE,
            message: "spec.backup.schedule must be a cron expression of 5 space-separated fields " +
              "(minute hour day-of-month month day-of-week), e.g. '0 3 * * *'",
          }],
        }),
        retention: {
          type: "integer",
          minimum: 1,
          maximum: 1000,
          description: "How many complete backups to keep (default 7).",
        },
        storage_size: quantity("spec.backup.storage_size", "Size of the backup volume (default 1Gi)."),
        storageClassName: str(253, {
          description: "Storage class of the backup volume (default: spec.storageClassName).",
        }),
      },
    },
  },
};

const time = (description: string): Schema => str(64, { format: "date-time", description });

/** The shape of metav1.Condition. */
const conditionSchema: Schema = {
  type: "object",
  required: ["type", "status", "lastTransitionTime", "reason", "message"],
  properties: {
    type: str(316, {
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    }),
    status: { type: "string", enum: ["True", "False", "Unknown"] },
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    lastTransitionTime: time("When the status last changed."),
    reason: str(1024, { minLength: 1, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" }),
    message: str(32768),
  },
};

const statusSchema: Schema = {
  type: "object",
  description: "Observed state of a MySQL instance (written by the operator).",
  properties: {
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    phase: str(64, { description: `${Object.values(PHASES).join(", ")}.` }),
    conditions: {
      type: "array",
      maxItems: 32,
      items: conditionSchema,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    },
    lastBackupTime: time("Time of the last successful backup."),
    lastBackup: str(1024, { description: "File of the last successful backup." }),
    lastBackupFailure: {
      type: "object",
      required: ["time", "reason"],
      properties: { time: time("When the backup failed."), reason: str(256), message: str(4096) },
    },
    backupNowHandled: str(256, { description: "Value of the backup-now annotation that was acted on." }),
    restore: {
      type: "object",
      required: ["result", "time"],
      properties: {
        result: { type: "string", enum: ["Restored", "NothingToRestore", "KeptData", "Failed"] },
        backup: str(1024),
        time: time("When the result was recorded."),
        message: str(4096),
      },
    },
    serviceIP: str(64, { description: "ClusterIP of the Service (what the Jobs connect to)." }),
    lastBackupJob: str(253, { description: "The last backup Job whose outcome was recorded." }),
    finalBackupAttempts: { type: "integer", format: "int32", minimum: 0 },
    restoreAttempts: { type: "integer", format: "int32", minimum: 0 },
    restoreRetriedJob: str(64, {
      description: "UID of the last restore Job retried after a connection failure.",
    }),
    finalBackupTime: time("Time of the final backup that let the deletion proceed."),
    dataClaimUID: str(64, { description: "UID of the data claim once bound: this incarnation has data." }),
    dataVolumeName: str(253, { description: "Name of the data volume (provisioned, or kept from before)." }),
    backupVolumeName: str(253, {
      description: "A provisioned backup volume of an earlier incarnation, taken back.",
    }),
    lastScheduledSlot: time("Last schedule slot a scheduled backup was started for."),
  },
};

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function mysqlCRD(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: "mysql", shortNames: ["ms"] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: "Phase", type: "string", jsonPath: ".status.phase" },
          { name: "Storage", type: "string", jsonPath: ".spec.storage_size" },
          { name: "Last backup", type: "date", jsonPath: ".status.lastBackupTime" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description: "A MySQL instance managed by mysql-operator.",
            required: ["spec"],
            "x-kubernetes-validations": [{
              rule: NAME_RULE,
              message: NAME_MESSAGE,
              // Reported at metadata.name instead of the object root.
              fieldPath: ".metadata.name",
            }],
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object", properties: { name: { type: "string", maxLength: 253 } } },
              spec: specSchema,
              status: statusSchema,
            },
          },
        },
      }],
    },
  };
}

/**
 * The text of every validation rule of a MySQL object, in one place: the patterns (OpenAPI and run time), the CEL
 * rules of the CRD, and the messages both say. api/spec_schema.ts attaches them to the zod schema the CRD is
 * generated from; tests match on the messages.
 *
 * @module
 */

/** Longest object name: every namespaced child name stays a DNS label (63 characters) with this. */
export const MAX_NAME_LENGTH = 40;

/** Regular expression of a valid object name (a DNS label starting with a letter), as used in the CEL rule. */
export const NAME_REGEX = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
/** Message of the name rule (the CRD and the run-time check say the same). */
export const NAME_MESSAGE = `metadata.name must be a DNS label of at most ${MAX_NAME_LENGTH} characters: ` +
  "lowercase letters, digits and '-', starting with a letter and ending with a letter or digit";
/** CEL rule on the root: the name rule (only `metadata.name` and `generateName` are visible to CEL). */
export const NAME_RULE =
  `self.metadata.name.size() <= ${MAX_NAME_LENGTH} && self.metadata.name.matches('${NAME_REGEX}')`;

/** Message of the password rule. */
export const PASSWORD_MESSAGE = "exactly one of spec.password and spec.passwordSecretRef must be set";
/** CEL rule on `spec`: exactly one password source. */
export const PASSWORD_RULE = "has(self.password) != has(self.passwordSecretRef)";

/** Kubernetes quantity, the same expression the API server uses. */
export const QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";
/** CEL rule on quantities: parseable and greater than zero (the pattern alone accepts `0` and `1.2.3`). */
export const QUANTITY_RULE = "isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))";
/** Positive and non-positive quantities as `resource.ParseQuantity` reads them (canonical suffixes only). */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(\d+(\.\d*)?|\.\d+)))?$/;
/** The run-time twin of {@linkcode QUANTITY_RULE}: a quantity CEL's `isQuantity` accepts, greater than zero. */
export function isPositiveQuantity(text: string): boolean {
  const match = QUANTITY.exec(text);
  if (match === null) return false;
  return !text.startsWith("-") && /[1-9]/.test(match[1]);
}
/** Message of the quantity rule on `field`. */
export function quantityMessage(field: string): string {
  return `${field} must be a positive Kubernetes quantity such as 1Gi or 500Mi`;
}

/** A MySQL identifier that needs no quoting beyond backticks and is safe as a file name. */
export const DATABASE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$";
/** MySQL's own schemas: never an instance's database (the operator creates, dumps and restores it). */
export const SYSTEM_SCHEMAS = ["mysql", "sys", "information_schema", "performance_schema"] as const;
/** Message for a system schema as `spec.database` (the CRD and the run-time check say the same). */
export const SYSTEM_SCHEMA_MESSAGE = `spec.database must not be a system schema (${
  SYSTEM_SCHEMAS.join(", ")
})`;
/** CEL rule on `spec.database`: not one of MySQL's own schemas, in any case. */
export const DATABASE_RULE = `!(self.lowerAscii() in [${SYSTEM_SCHEMAS.map((s) => `'${s}'`).join(", ")}])`;

/** Whether `database` names a system schema (MySQL compares schema names case-insensitively on some systems). */
export function isSystemSchema(database: string): boolean {
  return (SYSTEM_SCHEMAS as readonly string[]).includes(database.toLowerCase());
}

/**
 * A Secret's name: a DNS subdomain, so it is never `.` or `..` and holds no `/` (a name goes into a URL path).
 * `[.]` instead of an escaped dot: the same text serves as a CEL string literal.
 */
export const SECRET_NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/** Message for a `passwordSecretRef.name` that is not a Secret name (the CRD and the run-time check say the same). */
export const SECRET_NAME_MESSAGE = secretNameMessage("spec.passwordSecretRef.name");
/** Message for a Secret reference's `field` that is not a Secret name. */
export function secretNameMessage(field: string): string {
  return `${field} must be a Secret name of at most 253 characters: ` +
    "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
}
/** Message for a `credentialsSecretRef.name` that is not a Secret name. */
export const STORE_SECRET_NAME_MESSAGE = secretNameMessage(
  "spec.backup.objectStore.credentialsSecretRef.name",
);
/** CEL rule on `spec.passwordSecretRef.name`: a Secret name (a DNS subdomain). */
export const SECRET_NAME_RULE = `self.matches('${SECRET_NAME_PATTERN}')`;

/** Five space-separated cron fields (minute hour day-of-month month day-of-week), as used in the CEL rule. */
export const SCHEDULE_REGEX = "^ *[0-9A-Za-z*/,?-]+( +[0-9A-Za-z*/,?-]+){4} *$";
/** CEL rule on `spec.backup.schedule`. */
export const SCHEDULE_RULE = `self.matches('${SCHEDULE_REGEX}')`;
/** Message of the schedule rule. */
export const SCHEDULE_MESSAGE =
  "spec.backup.schedule must be a cron expression of 5 space-separated fields " +
  "(minute hour day-of-month month day-of-week), e.g. '0 3 * * *'";

/**
 * An object store's endpoint: `http://` or `https://`, a host name or IPv4 address, an optional port; no path, no
 * user part (keys come only from the credentials Secret). IPv6 literals are not accepted: `[` and `]` mean
 * different things in JavaScript's and RE2's character classes, and this text serves both.
 */
export const ENDPOINT_REGEX = "^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$";
/** Message of the endpoint rule. */
export const ENDPOINT_MESSAGE =
  "spec.backup.objectStore.endpoint must be http:// or https:// with a host and an " +
  "optional port, without path or user, e.g. https://s3.eu-central-1.amazonaws.com";
/** CEL rule on `spec.backup.objectStore.endpoint`. */
export const ENDPOINT_RULE = `self.matches('${ENDPOINT_REGEX}')`;

/** An S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit. */
export const BUCKET_REGEX = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";
/** Message of the bucket rule. */
export const BUCKET_MESSAGE = "spec.backup.objectStore.bucket must be an S3 bucket name: 3 to 63 lowercase " +
  "letters, digits, '.' and '-', starting and ending with a letter or digit";
/** CEL rule on `spec.backup.objectStore.bucket`. */
export const BUCKET_RULE = `self.matches('${BUCKET_REGEX}')`;

/**
 * A key prefix: `/`-separated parts of letters, digits, `.`, `_` and `-`, none starting with `.` (so never `.` or
 * `..`), no leading, trailing or double `/`: the Jobs' scripts accept exactly such paths.
 */
export const PREFIX_REGEX = "^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$";
/** Message of the prefix rule. */
export const PREFIX_MESSAGE =
  "spec.backup.objectStore.prefix must be parts separated by single '/' of letters, " +
  "digits, '.', '_' and '-', none starting with '.', without leading or trailing '/'";
/** CEL rule on `spec.backup.objectStore.prefix`. */
export const PREFIX_RULE = `self.matches('${PREFIX_REGEX}')`;

/** Message of the restoreFrom rule. */
export const RESTORE_FROM_MESSAGE =
  "spec.restoreFrom needs spec.backup.objectStore: the source's backups are " +
  "read from the same store";
/** CEL rule on `spec`: restoreFrom only with an object store. */
export const RESTORE_FROM_RULE =
  "!has(self.restoreFrom) || (has(self.backup) && has(self.backup.objectStore))";

/** A backup's file name as the scripts make it (`<tag>-<UTC time>-<random>.sql`); no path. */
export const BACKUP_FILE_REGEX = "^[A-Za-z0-9_][A-Za-z0-9._-]*[.]sql$";
/** Message of the backup file rule. */
export const BACKUP_FILE_MESSAGE = "spec.restoreFrom.backup must be a backup's file name, e.g. " +
  "ns_shop-20261204T120000Z-0a1b2c3d4e5f.sql (as `status.lastBackup` ends)";
/** CEL rule on `spec.restoreFrom.backup`. */
export const BACKUP_FILE_RULE = `self.matches('${BACKUP_FILE_REGEX}')`;
/** Message of the rule on `spec.restoreFrom.name`. */
export const SOURCE_NAME_MESSAGE = `spec.restoreFrom.name must be a MySQL object's name: ${
  NAME_MESSAGE.slice("metadata.name must be ".length)
}`;
/** CEL rule on `spec.restoreFrom.name` (the name rule of the object, applied to a string). */
export const SOURCE_NAME_RULE = `self.size() <= ${MAX_NAME_LENGTH} && self.matches('${NAME_REGEX}')`;
/** A namespace's name (a DNS label). */
export const NAMESPACE_REGEX = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** Message of the rule on `spec.restoreFrom.namespace`. */
export const SOURCE_NAMESPACE_MESSAGE = "spec.restoreFrom.namespace must be a namespace's name: at most 63 " +
  "lowercase letters, digits and '-', starting and ending with a letter or digit";
/** CEL rule on `spec.restoreFrom.namespace`. */
export const SOURCE_NAMESPACE_RULE = `self.matches('${NAMESPACE_REGEX}')`;
/** Message of the rule on `spec.restoreFrom.cluster`. */
export const SOURCE_CLUSTER_MESSAGE = "spec.restoreFrom.cluster must be a kubeconfig context name as the " +
  "operator serves it (letters, digits, '.', '_', '@', ':', '-' and '/')";
/** A context name as the store's folders hold it (templates/names.ts `storeClusterName` maps `/` to `_`). */
export const SOURCE_CLUSTER_REGEX = "^[A-Za-z0-9._@:/-]+$";
/** CEL rule on `spec.restoreFrom.cluster`. */
export const SOURCE_CLUSTER_RULE = `self.matches('${SOURCE_CLUSTER_REGEX}')`;

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { parse } from "yaml";
import { type MySQLStatus, validateMySQL } from "./mysql.ts";
import {
  BACKUP_FILE_MESSAGE,
  BACKUP_FILE_REGEX,
  BACKUP_FILE_RULE,
  BUCKET_MESSAGE,
  BUCKET_REGEX,
  BUCKET_RULE,
  DATABASE_RULE,
  ENDPOINT_MESSAGE,
  ENDPOINT_REGEX,
  ENDPOINT_RULE,
  isSystemSchema,
  MAX_NAME_LENGTH,
  NAME_MESSAGE,
  NAME_REGEX,
  NAME_RULE,
  NAMESPACE_REGEX,
  PASSWORD_MESSAGE,
  PASSWORD_RULE,
  PREFIX_MESSAGE,
  PREFIX_REGEX,
  PREFIX_RULE,
  QUANTITY_RULE,
  RESTORE_FROM_MESSAGE,
  RESTORE_FROM_RULE,
  SCHEDULE_REGEX,
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
import { mysqlCRD } from "./crd.ts";
import { CRD_PATH } from "./gen_crd.ts";
import { COURSE, variant } from "./_course_object.ts";
import { checkSchema, isPositiveQuantity, mirrorRule } from "./schema_check.ts";

type Schema = Record<string, unknown>;

mirrorRule(NAME_RULE, (self) => {
  const name = (self as { metadata?: { name?: string } }).metadata?.name ?? "";
  return name.length <= MAX_NAME_LENGTH && new RegExp(NAME_REGEX).test(name);
});
mirrorRule(
  PASSWORD_RULE,
  (self) => ("password" in (self as object)) !== ("passwordSecretRef" in (self as object)),
);
mirrorRule(QUANTITY_RULE, (self) => isPositiveQuantity(self as string));
mirrorRule(SCHEDULE_RULE, (self) => new RegExp(SCHEDULE_REGEX).test(self as string));
mirrorRule(SECRET_NAME_RULE, (self) => new RegExp(SECRET_NAME_PATTERN).test(self as string));
mirrorRule(DATABASE_RULE, (self) => !isSystemSchema(self as string));
mirrorRule(ENDPOINT_RULE, (self) => new RegExp(ENDPOINT_REGEX).test(self as string));
mirrorRule(BUCKET_RULE, (self) => new RegExp(BUCKET_REGEX).test(self as string));
mirrorRule(PREFIX_RULE, (self) => new RegExp(PREFIX_REGEX).test(self as string));
mirrorRule(BACKUP_FILE_RULE, (self) => new RegExp(BACKUP_FILE_REGEX).test(self as string));
mirrorRule(SOURCE_CLUSTER_RULE, (self) => new RegExp(SOURCE_CLUSTER_REGEX).test(self as string));
mirrorRule(SOURCE_NAMESPACE_RULE, (self) => new RegExp(NAMESPACE_REGEX).test(self as string));
mirrorRule(
  SOURCE_NAME_RULE,
  (self) => (self as string).length <= MAX_NAME_LENGTH && new RegExp(NAME_REGEX).test(self as string),
);
mirrorRule(RESTORE_FROM_RULE, (self) => {
  const spec = self as { restoreFrom?: unknown; backup?: { objectStore?: unknown } };
  return spec.restoreFrom === undefined || spec.backup?.objectStore !== undefined;
});

/** A valid restoreFrom (with an object store), with fields replaced (`undefined` removes one). */
const restoreFrom = (fields: Record<string, unknown> = {}) => {
  const merged: Record<string, unknown> = { namespace: "prod", name: "shop", ...fields };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const withStore = store() as { spec: Record<string, unknown> };
  return { ...withStore, spec: { ...withStore.spec, restoreFrom: merged } };
};

/** A valid object store target, with fields replaced (`undefined` removes one). */
const store = (fields: Record<string, unknown> = {}) => {
  const merged: Record<string, unknown> = {
    endpoint: "https://s3.eu-central-1.amazonaws.com",
    bucket: "team-backups",
    credentialsSecretRef: { name: "s3-keys" },
    ...fields,
  };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return variant({ backup: { objectStore: merged } });
};

const crd = mysqlCRD() as {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: Record<string, unknown>;
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: unknown;
      additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
};
const [version] = crd.spec.versions;
const schema = version.schema.openAPIV3Schema;

Deno.test("deploy/crd.yaml is exactly the generated CRD (run `deno task gen` after changing api/crd.ts)", async () => {
  deepStrictEqual(parse(await Deno.readTextFile(CRD_PATH)), mysqlCRD());
});

Deno.test("deploy/mysql-instance.yaml is the course's example object", async () => {
  deepStrictEqual(
    parse(await Deno.readTextFile(new URL("../deploy/mysql-instance.yaml", import.meta.url))),
    COURSE,
  );
});

Deno.test("CRD identity: mysqls.otus.homework, kind MySQL, short name ms, namespaced, v1 with status", () => {
  equal(crd.metadata.name, "mysqls.otus.homework");
  equal(crd.spec.group, "otus.homework");
  equal(crd.spec.scope, "Namespaced");
  deepStrictEqual(crd.spec.names, {
    kind: "MySQL",
    listKind: "MySQLList",
    plural: "mysqls",
    singular: "mysql",
    shortNames: ["ms"],
  });
  equal(crd.spec.versions.length, 1);
  equal(version.name, "v1");
  ok(version.served && version.storage);
  deepStrictEqual(version.subresources, { status: {} });
  deepStrictEqual(version.additionalPrinterColumns.map((c) => [c.name, c.type, c.jsonPath]), [
    ["Ready", "string", '.status.conditions[?(@.type=="Ready")].status'],
    ["Phase", "string", ".status.phase"],
    ["Storage", "string", ".spec.storage_size"],
    ["Last backup", "date", ".status.lastBackupTime"],
    ["Age", "date", ".metadata.creationTimestamp"],
  ]);
});

Deno.test("every string in the schema is bounded (CEL cost) and every CEL rule has a message", () => {
  const unbounded: string[] = [];
  const walk = (s: Schema, path: string) => {
    if (
      s.type === "string" && s.maxLength === undefined && s.enum === undefined && path !== ".apiVersion" &&
      path !== ".kind"
    ) unbounded.push(path);
    for (const v of (s["x-kubernetes-validations"] ?? []) as { rule: string; message?: string }[]) {
      ok((v.message ?? "").length > 20, `message of ${v.rule}`);
    }
    for (const [k, child] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      walk(child, `${path}.${k}`);
    }
    if (s.items) walk(s.items as Schema, `${path}[]`);
  };
  walk(schema, "");
  deepStrictEqual(unbounded, []);
});

Deno.test("the schema accepts the course object and complete valid objects", () => {
  deepStrictEqual(checkSchema(schema, COURSE), []);
  const stored = { ...COURSE, metadata: { name: "db", namespace: "ns1", uid: "u", labels: { a: "b" } } };
  deepStrictEqual(checkSchema(schema, stored), []);
  const full = variant({
    password: undefined,
    passwordSecretRef: { name: "db-root", key: "root.pw" },
    image: "mariadb:11",
    storageClassName: "fast",
    resources: { requests: { cpu: 1, memory: "256Mi" }, limits: { memory: "1Gi", cpu: "500m" } },
    backup: {
      image: "mysql:8.4",
      schedule: "*/15 3 * * 1-5",
      retention: 1000,
      storage_size: "500Mi",
      storageClassName: "nfs",
      objectStore: {
        endpoint: "http://versitygw.storage.svc:7070",
        bucket: "backups.example-1",
        prefix: "prod/eu_1/mysql-operator",
        region: "eu-central-1",
        credentialsSecretRef: { name: "s3.keys", accessKeyIdKey: "id", secretAccessKeyKey: "secret.key" },
        insecureSkipTLSVerify: true,
      },
    },
    restoreFrom: {
      cluster: "arn:aws:eks:eu-central-1:123456789012:cluster/prod",
      namespace: "prod",
      name: "shop",
      backup: "prod_shop-20261204T120000Z-0a1b2c3d4e5f.sql",
    },
  }, "a".repeat(MAX_NAME_LENGTH));
  deepStrictEqual(checkSchema(schema, full), []);
  const withStatus = {
    ...COURSE,
    status: {
      observedGeneration: 2,
      phase: "Ready",
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "MySQLReady",
        message: "mysqld answers",
        lastTransitionTime: "2026-11-25T13:00:00Z",
        observedGeneration: 2,
      }],
      lastBackupTime: "2026-11-25T13:00:00Z",
      lastBackup: "default_mysql-instance/20261125T130000Z.sql.gz",
      lastBackupFailure: { time: "2026-11-25T12:00:00Z", reason: "DumpFailed", message: "exit 2" },
      backupNowHandled: "1",
      restore: { result: "NothingToRestore", time: "2026-11-25T12:00:00Z" },
      serviceIP: "10.96.0.12",
    },
  };
  deepStrictEqual(checkSchema(schema, withStatus), []);
});

/** Bad objects, and a part of the message the CRD answers with. */
const BAD: [string, unknown, string][] = [
  ["no spec", { ...COURSE, spec: undefined }, "spec: Required value"],
  ["both password sources", variant({ passwordSecretRef: { name: "s" } }), PASSWORD_MESSAGE],
  ["no password source", variant({ password: undefined }), PASSWORD_MESSAGE],
  [
    "numeric password (unquoted YAML)",
    variant({ password: 123456 }),
    "spec.password: must be of type string",
  ],
  ["empty password", variant({ password: "" }), "spec.password: shorter"],
  ["secret ref without name", variant({ password: undefined, passwordSecretRef: {} }), "name: Required"],
  [
    "secret ref '..'",
    variant({ password: undefined, passwordSecretRef: { name: ".." } }),
    SECRET_NAME_MESSAGE,
  ],
  ["database mysql", variant({ database: "MySQL" }), SYSTEM_SCHEMA_MESSAGE],
  ["no image", variant({ image: undefined }), "spec.image: Required value"],
  ["empty image", variant({ image: "" }), "spec.image: shorter"],
  ["database with a space", variant({ database: "otus db" }), "spec.database: should match"],
  ["database with a quote", variant({ database: "a`; drop" }), "spec.database: should match"],
  ["zero size", variant({ storage_size: "0" }), "positive Kubernetes quantity"],
  ["negative size", variant({ storage_size: "-1Gi" }), "positive Kubernetes quantity"],
  ["unparseable size", variant({ storage_size: "1.2.3Gi" }), "positive Kubernetes quantity"],
  ["size in words", variant({ storage_size: "one gig" }), "spec.storage_size: should match"],
  ["numeric size", variant({ storage_size: 1 }), "spec.storage_size: must be of type string"],
  ["retention 0", variant({ backup: { retention: 0 } }), "spec.backup.retention: below 1"],
  ["retention 1001", variant({ backup: { retention: 1001 } }), "spec.backup.retention: above 1000"],
  ["schedule of 4 fields", variant({ backup: { schedule: "0 3 * *" } }), "cron expression of 5"],
  ["schedule in words", variant({ backup: { schedule: "every day" } }), "cron expression of 5"],
  [
    "backup size zero",
    variant({ backup: { storage_size: "0Gi" } }),
    "spec.backup.storage_size must be a pos",
  ],
  ["bad resource quantity", variant({ resources: { limits: { memory: "lots" } } }), "memory: should match"],
  ["unknown spec field", variant({ ignoreDbDir: true }), "spec.ignoreDbDir: unknown field"],
  ["store endpoint with a path", store({ endpoint: "https://s3.example.com/bucket" }), ENDPOINT_MESSAGE],
  ["store endpoint with a user", store({ endpoint: "https://key:secret@s3.example.com" }), ENDPOINT_MESSAGE],
  ["store endpoint without scheme", store({ endpoint: "s3.example.com" }), ENDPOINT_MESSAGE],
  ["store endpoint ftp", store({ endpoint: "ftp://s3.example.com" }), ENDPOINT_MESSAGE],
  ["store bucket in capitals", store({ bucket: "Backups" }), BUCKET_MESSAGE],
  ["store bucket of 2 characters", store({ bucket: "ab" }), BUCKET_MESSAGE],
  ["store bucket with a slash", store({ bucket: "a/b" }), BUCKET_MESSAGE],
  ["store prefix climbing", store({ prefix: "../other" }), PREFIX_MESSAGE],
  ["store prefix absolute", store({ prefix: "/prod" }), PREFIX_MESSAGE],
  ["store prefix with a trailing slash", store({ prefix: "prod/" }), PREFIX_MESSAGE],
  ["store prefix with //", store({ prefix: "prod//eu" }), PREFIX_MESSAGE],
  ["store prefix with a space", store({ prefix: "my backups" }), PREFIX_MESSAGE],
  ["store without credentials", store({ credentialsSecretRef: undefined }), "credentialsSecretRef: Required"],
  ["store without bucket", store({ bucket: undefined }), "bucket: Required"],
  ["store credentials '..'", store({ credentialsSecretRef: { name: ".." } }), STORE_SECRET_NAME_MESSAGE],
  ["store region in capitals", store({ region: "EU" }), "region: should match"],
  [
    "restoreFrom without a store",
    variant({ restoreFrom: { namespace: "a", name: "b" } }),
    RESTORE_FROM_MESSAGE,
  ],
  ["restoreFrom without name", restoreFrom({ name: undefined }), "name: Required"],
  ["restoreFrom name in capitals", restoreFrom({ name: "Shop" }), SOURCE_NAME_MESSAGE],
  ["restoreFrom namespace '..'", restoreFrom({ namespace: ".." }), SOURCE_NAMESPACE_MESSAGE],
  ["restoreFrom cluster with a space", restoreFrom({ cluster: "prod eu" }), SOURCE_CLUSTER_MESSAGE],
  ["restoreFrom backup with a path", restoreFrom({ backup: "../x/a.sql" }), BACKUP_FILE_MESSAGE],
  ["restoreFrom backup not a dump", restoreFrom({ backup: "a.manifest" }), BACKUP_FILE_MESSAGE],
  ["upper-case name", variant({}, "MySQL"), NAME_MESSAGE],
  ["name starting with a digit", variant({}, "1db"), NAME_MESSAGE],
  ["name ending with a dash", variant({}, "db-"), NAME_MESSAGE],
  ["name too long", variant({}, "a".repeat(MAX_NAME_LENGTH + 1)), NAME_MESSAGE],
];

Deno.test("the schema rejects bad objects with a clear message", () => {
  for (const [what, object, message] of BAD) {
    const errors = checkSchema(schema, object);
    ok(
      errors.some((e) => e.includes(message)),
      `${what}: expected "${message}", got ${JSON.stringify(errors)}`,
    );
  }
});

/**
 * What the run-time check leaves to others on purpose: a schedule that is no cron expression is the BackupReady
 * condition's business (InvalidSchedule), a resource quantity is the Deployment's (the API server refuses it), and
 * an unknown field is dropped (the API server prunes it).
 */
const RUN_TIME_LEAVES = [
  "schedule of 4 fields",
  "schedule in words",
  "bad resource quantity",
  "unknown spec field",
];
/** Rules whose message the run-time check and the CRD share word for word. */
const SHARED_MESSAGES = [
  NAME_MESSAGE,
  PASSWORD_MESSAGE,
  SECRET_NAME_MESSAGE,
  SYSTEM_SCHEMA_MESSAGE,
  ENDPOINT_MESSAGE,
  BUCKET_MESSAGE,
  PREFIX_MESSAGE,
  STORE_SECRET_NAME_MESSAGE,
  RESTORE_FROM_MESSAGE,
  SOURCE_NAME_MESSAGE,
  SOURCE_NAMESPACE_MESSAGE,
  SOURCE_CLUSTER_MESSAGE,
  BACKUP_FILE_MESSAGE,
];

Deno.test("the run-time check (the same zod schema) refuses what the CRD refuses, with the CRD's rule messages", () => {
  for (const [what, object, message] of BAD) {
    if (RUN_TIME_LEAVES.includes(what)) continue;
    const v = validateMySQL(object as Parameters<typeof validateMySQL>[0]);
    equal(v.ok, false, `${what}: accepted at run time`);
    if (!v.ok && SHARED_MESSAGES.includes(message)) equal(v.message, message, what);
  }
  for (const what of RUN_TIME_LEAVES) {
    const [, object] = BAD.find(([w]) => w === what)!;
    equal(
      validateMySQL(object as Parameters<typeof validateMySQL>[0]).ok,
      true,
      `${what}: refused at run time`,
    );
  }
  equal(validateMySQL(COURSE).ok, true, "the course object");
});

Deno.test("the rule messages say what is wrong", () => {
  ok(NAME_MESSAGE.includes(String(MAX_NAME_LENGTH)) && NAME_MESSAGE.includes("starting with a letter"));
  equal(PASSWORD_MESSAGE, "exactly one of spec.password and spec.passwordSecretRef must be set");
});

Deno.test("conditions are a map list keyed by type", () => {
  const status = (schema.properties as Record<string, Schema>).status;
  const conditions = (status.properties as Record<string, Schema>).conditions;
  equal(conditions["x-kubernetes-list-type"], "map");
  deepStrictEqual(conditions["x-kubernetes-list-map-keys"], ["type"]);
});

Deno.test("every status field the operator writes is in the CRD's status schema (the API server prunes the rest)", () => {
  // Record<keyof Required<MySQLStatus>, true> makes the compiler list every field: a new one fails to type-check here.
  const fields: Record<keyof Required<MySQLStatus>, true> = {
    observedGeneration: true,
    phase: true,
    conditions: true,
    lastBackupTime: true,
    lastBackup: true,
    lastBackupBytes: true,
    lastBackupFailure: true,
    backupNowHandled: true,
    migrateBackupHandled: true,
    migrateBackup: true,
    restore: true,
    serviceIP: true,
    lastBackupJob: true,
    finalBackupAttempts: true,
    restoreAttempts: true,
    restoreRetriedJob: true,
    finalBackupTime: true,
    lastScheduledSlot: true,
    dataClaimUID: true,
    dataVolumeName: true,
    backupVolumeName: true,
  };
  // deno-lint-ignore no-explicit-any
  const crd = mysqlCRD() as any;
  const props = crd.spec.versions[0].schema.openAPIV3Schema.properties.status.properties;
  for (const f of Object.keys(fields)) ok(f in props, `status.${f} is missing from the CRD schema`);
});

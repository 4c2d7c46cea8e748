/**
 * The CRD's OpenAPI schema and CEL rules as the API server applies them (server-side dry-run of `create` against a
 * real kube-apiserver with deploy/crd.yaml), not as JavaScript copies: each bad object is refused with a message
 * that says what is wrong, and valid objects are accepted.
 *
 * @module
 */
import { assert, assertStringIncludes } from "./_assert.ts";
import { kubectlWithStdin } from "./_clusters.ts";
import { clustersWithCRD } from "./_k8s.ts";
import {
  BACKUP_FILE_MESSAGE,
  BUCKET_MESSAGE,
  ENDPOINT_MESSAGE,
  MAX_NAME_LENGTH,
  NAME_MESSAGE,
  PASSWORD_MESSAGE,
  PREFIX_MESSAGE,
  RESTORE_FROM_MESSAGE,
  SECRET_NAME_MESSAGE,
  STORE_SECRET_NAME_MESSAGE,
  SYSTEM_SCHEMA_MESSAGE,
} from "../api/rules.ts";
import { variant } from "../api/_course_object.ts";

const { contexts } = await clustersWithCRD(1);
const ctx = contexts[0];

/** The course object in namespace `default`, with `spec` fields replaced and another name if given. */
const inDefault = (spec: Record<string, unknown>, name = "mysql-instance") => variant(spec, name, "default");
const COURSE_IN_DEFAULT = inDefault({});

/** `kubectl create --dry-run=server`: undefined when accepted, else the API server's message. */
async function dryRun(obj: unknown): Promise<string | undefined> {
  try {
    await kubectlWithStdin(ctx, JSON.stringify(obj), "create", "--dry-run=server", "-o", "name", "-f", "-");
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A valid object store target with fields replaced (`undefined` removes one). */
const VALID_STORE = {
  endpoint: "http://versitygw.storage.svc:7070",
  bucket: "backups.example-1",
  prefix: "prod/eu_1/mysql-operator",
  region: "eu-central-1",
  credentialsSecretRef: { name: "s3.keys", accessKeyIdKey: "id", secretAccessKeyKey: "secret.key" },
  insecureSkipTLSVerify: true,
};
const store = (fields: Record<string, unknown>) => {
  const merged: Record<string, unknown> = { ...VALID_STORE, ...fields };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return inDefault({ backup: { objectStore: merged } });
};

Deno.test("the API server refuses each bad object with a message that says what is wrong", async () => {
  const ref = (name: string) => inDefault({ password: undefined, passwordSecretRef: { name } });
  const cases: [string, unknown, string][] = [
    ["no spec", { ...COURSE_IN_DEFAULT, spec: undefined }, "spec: Required value"],
    ["both password sources", inDefault({ passwordSecretRef: { name: "s" } }), PASSWORD_MESSAGE],
    ["no password source", inDefault({ password: undefined }), PASSWORD_MESSAGE],
    [
      "numeric password (unquoted YAML)",
      inDefault({ password: 123456 }),
      "spec.password in body must be of type",
    ],
    ["empty password", inDefault({ password: "" }), "spec.password in body should be at least 1 chars"],
    [
      "secret ref without name",
      inDefault({ password: undefined, passwordSecretRef: {} }),
      "name: Required value",
    ],
    ["secret ref '..' (a collection URL)", ref(".."), SECRET_NAME_MESSAGE],
    ["secret ref '.'", ref("."), SECRET_NAME_MESSAGE],
    ["secret ref with a slash", ref("a/b"), SECRET_NAME_MESSAGE],
    ["secret ref in capitals", ref("Root"), SECRET_NAME_MESSAGE],
    ["no image", inDefault({ image: undefined }), "spec.image: Required value"],
    ["database with a space", inDefault({ database: "otus db" }), "spec.database in body should match"],
    ["database with a quote", inDefault({ database: "a`; drop" }), "spec.database in body should match"],
    ["database mysql", inDefault({ database: "mysql" }), SYSTEM_SCHEMA_MESSAGE],
    ["database MySQL", inDefault({ database: "MySQL" }), SYSTEM_SCHEMA_MESSAGE],
    ["database sys", inDefault({ database: "sys" }), SYSTEM_SCHEMA_MESSAGE],
    ["database information_schema", inDefault({ database: "information_schema" }), SYSTEM_SCHEMA_MESSAGE],
    ["database Performance_Schema", inDefault({ database: "Performance_Schema" }), SYSTEM_SCHEMA_MESSAGE],
    [
      "zero size",
      inDefault({ storage_size: "0" }),
      "spec.storage_size must be a positive Kubernetes quantity",
    ],
    ["negative size", inDefault({ storage_size: "-1Gi" }), "spec.storage_size must be a positive"],
    ["unparseable size", inDefault({ storage_size: "1.2.3Gi" }), "spec.storage_size must be a positive"],
    ["size in words", inDefault({ storage_size: "one gig" }), "spec.storage_size in body should match"],
    [
      "retention 0",
      inDefault({ backup: { retention: 0 } }),
      "retention in body should be greater than or equal",
    ],
    [
      "retention 1001",
      inDefault({ backup: { retention: 1001 } }),
      "retention in body should be less than or equal",
    ],
    ["schedule of 4 fields", inDefault({ backup: { schedule: "0 3 * *" } }), "cron expression of 5"],
    [
      "backup size zero",
      inDefault({ backup: { storage_size: "0Gi" } }),
      "spec.backup.storage_size must be a pos",
    ],
    [
      "bad resource quantity",
      inDefault({ resources: { limits: { memory: "lots" } } }),
      "memory in body should",
    ],
    ["unknown spec field", inDefault({ ignoreDbDir: true }), 'unknown field "spec.ignoreDbDir"'],
    ["store endpoint with a path", store({ endpoint: "https://s3.example.com/b" }), ENDPOINT_MESSAGE],
    ["store endpoint with a user", store({ endpoint: "https://k:s@s3.example.com" }), ENDPOINT_MESSAGE],
    ["store bucket in capitals", store({ bucket: "Backups" }), BUCKET_MESSAGE],
    ["store prefix climbing", store({ prefix: "a/../b" }), PREFIX_MESSAGE],
    ["store prefix absolute", store({ prefix: "/prod" }), PREFIX_MESSAGE],
    ["store credentials '..'", store({ credentialsSecretRef: { name: ".." } }), STORE_SECRET_NAME_MESSAGE],
    [
      "store without credentials",
      store({ credentialsSecretRef: undefined }),
      "credentialsSecretRef: Required",
    ],
    [
      "restoreFrom without a store",
      inDefault({ restoreFrom: { namespace: "prod", name: "shop" } }),
      RESTORE_FROM_MESSAGE,
    ],
    [
      "restoreFrom backup with a path",
      inDefault({
        backup: { objectStore: VALID_STORE },
        restoreFrom: { namespace: "prod", name: "shop", backup: "../a.sql" },
      }),
      BACKUP_FILE_MESSAGE,
    ],
    ["name starting with a digit", inDefault({}, "1db"), NAME_MESSAGE],
    ["name too long", inDefault({}, "a".repeat(MAX_NAME_LENGTH + 1)), NAME_MESSAGE],
  ];
  const wrong: string[] = [];
  await Promise.all(cases.map(async ([what, obj, expected]) => {
    const message = await dryRun(obj);
    if (message === undefined) wrong.push(`${what}: accepted`);
    else if (!message.replace(/\s+/g, " ").includes(expected)) wrong.push(`${what}: ${message.slice(-400)}`);
  }));
  assert(wrong.length === 0, `not refused as expected:\n${wrong.join("\n")}`);
});

Deno.test("the API server accepts the course object and complete valid objects", async () => {
  assertStringIncludes(String(await dryRun(COURSE_IN_DEFAULT) ?? "accepted"), "accepted");
  const full = inDefault({
    password: undefined,
    passwordSecretRef: { name: "db-root.v2", key: "root.pw" },
    image: "mariadb:11",
    database: "mysql_app",
    storageClassName: "fast",
    resources: { requests: { cpu: 1, memory: "256Mi" }, limits: { memory: "1Gi", cpu: "500m" } },
    backup: {
      image: "mysql:8.4",
      schedule: "*/15 3 * * 1-5",
      retention: 1000,
      storage_size: "500Mi",
      objectStore: VALID_STORE,
    },
    restoreFrom: {
      cluster: "arn:aws:eks:eu-central-1:123456789012:cluster/prod",
      namespace: "prod",
      name: "shop",
      backup: "prod_shop-20261204T120000Z-0a1b2c3d4e5f.sql",
    },
  }, "a".repeat(MAX_NAME_LENGTH));
  assertStringIncludes(String(await dryRun(full) ?? "accepted"), "accepted");
});

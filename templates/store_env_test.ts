import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { renderBackupJob, renderRestoreJob } from "./jobs.ts";
import { STORE_BACKUP_SCRIPT } from "./backup_script.ts";
import { STORE_RESTORE_SCRIPT } from "./restore_script.ts";
import { DEFAULT_RENDER_OPTIONS } from "./options.ts";
import { mysqlObject, TEST_HOST } from "./testing.ts";
import { storeClusterName, storeInstancePath } from "./names.ts";
import type { EnvVar, Job } from "./k8s_types.ts";
import type { ObjectStoreSpec } from "../api/mysql.ts";

const STORE: ObjectStoreSpec = {
  endpoint: "https://s3.eu-central-1.amazonaws.com",
  bucket: "team-backups",
  prefix: "prod",
  credentialsSecretRef: { name: "s3-keys" },
};
const withStore = (store: Partial<ObjectStoreSpec> = {}) =>
  mysqlObject({ namespace: "shop", name: "db", spec: { backup: { objectStore: { ...STORE, ...store } } } });

const env = (job: Job): Map<string, EnvVar> =>
  new Map(job.spec.template.spec.containers[0].env.map((e) => [e.name, e]));
const value = (job: Job, name: string) => env(job).get(name)?.value;

const backup = (mysql = withStore(), cluster = "kwok-mo-1") =>
  renderBackupJob(mysql, {
    jobName: "db-backup-x",
    reason: "manual",
    host: TEST_HOST,
    store: { cluster },
  }, {
    ...DEFAULT_RENDER_OPTIONS,
  });

Deno.test("store backup Job: the store's script, the instance's folder, the retention; no backup volume", () => {
  const job = backup();
  const c = job.spec.template.spec.containers[0];
  deepStrictEqual(c.command, ["/bin/sh", "-c", STORE_BACKUP_SCRIPT]);
  deepStrictEqual(c.volumeMounts, []);
  deepStrictEqual(job.spec.template.spec.volumes, []);
  equal(value(job, "STORE_PATH"), "team-backups/prod/kwok-mo-1/shop/db");
  equal(value(job, "INSTANCE_CLUSTER"), "kwok-mo-1");
  equal(value(job, "BACKUP_RETENTION"), "7");
  equal(value(job, "RCLONE_CONFIG_STORE_ENDPOINT"), STORE.endpoint);
  equal(value(job, "RCLONE_CONFIG_STORE_REGION"), "us-east-1");
  equal(value(job, "RCLONE_CONFIG_STORE_ENV_AUTH"), "false");
  for (
    const volumeOnly of ["BACKUP_DIR", "BACKUP_SUBDIR", "RCLONE_NO_CHECK_CERTIFICATE"]
  ) {
    equal(env(job).has(volumeOnly), false, volumeOnly);
  }
});

Deno.test("store Jobs: the keys only through secretKeyRef (default keys, or the ones named), never as values", () => {
  for (
    const [ref, id, secret] of [
      [{ name: "s3-keys" }, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
      [{ name: "k", accessKeyIdKey: "id", secretAccessKeyKey: "secret" }, "id", "secret"],
    ] as const
  ) {
    const mysql = withStore({ credentialsSecretRef: ref });
    for (
      const job of [
        backup(mysql),
        renderRestoreJob(mysql, { host: TEST_HOST, store: { cluster: "c" } }, DEFAULT_RENDER_OPTIONS),
      ]
    ) {
      const e = env(job);
      deepStrictEqual(e.get("RCLONE_CONFIG_STORE_ACCESS_KEY_ID"), {
        name: "RCLONE_CONFIG_STORE_ACCESS_KEY_ID",
        valueFrom: { secretKeyRef: { name: ref.name, key: id } },
      });
      deepStrictEqual(e.get("RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY"), {
        name: "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY",
        valueFrom: { secretKeyRef: { name: ref.name, key: secret } },
      });
      const c = job.spec.template.spec.containers[0];
      ok(!c.args, "no arguments");
    }
  }
});

Deno.test("store restore Job: the store's script and folder, no backup volume", () => {
  const job = renderRestoreJob(
    withStore({ prefix: undefined, insecureSkipTLSVerify: true, region: "eu-1" }),
    {
      host: TEST_HOST,
      store: { cluster: "prod" },
    },
    DEFAULT_RENDER_OPTIONS,
  );
  deepStrictEqual(job.spec.template.spec.containers[0].command, ["/bin/sh", "-c", STORE_RESTORE_SCRIPT]);
  deepStrictEqual(job.spec.template.spec.volumes, []);
  equal(value(job, "STORE_PATH"), "team-backups/prod/shop/db");
  equal(value(job, "RCLONE_NO_CHECK_CERTIFICATE"), "true");
  equal(value(job, "RCLONE_CONFIG_STORE_REGION"), "eu-1");
});

Deno.test("store Jobs need the cluster: rendering without it throws", () => {
  throws(() =>
    renderBackupJob(withStore(), { jobName: "j", reason: "manual", host: TEST_HOST }, DEFAULT_RENDER_OPTIONS)
  );
  throws(() => renderRestoreJob(withStore(), { host: TEST_HOST }, DEFAULT_RENDER_OPTIONS));
});

Deno.test("the cluster's folder: a context name the scripts refuse is made safe, never . or ..", () => {
  equal(storeClusterName("kubernetes-admin@prod:1"), "kubernetes-admin@prod:1");
  equal(storeClusterName("arn:aws:eks:eu-1:123:cluster/prod"), "arn:aws:eks:eu-1:123:cluster_prod");
  equal(storeClusterName(".."), "_..");
  equal(storeClusterName(""), "_");
  equal(storeInstancePath("/a/b/", "c/d", { namespace: "ns", name: "db" }), "a/b/c_d/ns/db");
  const job = backup(withStore(), "arn:aws:eks:eu-1:123:cluster/prod");
  equal(value(job, "INSTANCE_CLUSTER"), "arn:aws:eks:eu-1:123:cluster_prod");
  equal(value(job, "STORE_PATH"), "team-backups/prod/arn:aws:eks:eu-1:123:cluster_prod/shop/db");
});

Deno.test("restoreFrom: the restore Job names the source's folder (its cluster, else this one) and the backup asked for", () => {
  const from = (restoreFrom: Record<string, string>) =>
    mysqlObject({
      namespace: "shop",
      name: "db",
      spec: {
        backup: { objectStore: STORE },
        restoreFrom: restoreFrom as { namespace: string; name: string },
      },
    });
  const restore = (mysql: ReturnType<typeof from>) =>
    renderRestoreJob(mysql, { host: TEST_HOST, store: { cluster: "kwok-mo-1" } }, DEFAULT_RENDER_OPTIONS);
  const same = restore(from({ namespace: "prod", name: "shop" }));
  equal(value(same, "RESTORE_FROM_PATH"), "team-backups/prod/kwok-mo-1/prod/shop");
  equal(value(same, "RESTORE_FROM_ID"), "prod/shop");
  equal(env(same).has("RESTORE_FROM_BACKUP"), false);
  const other = restore(
    from({ cluster: "eks/prod", namespace: "prod", name: "shop", backup: "prod_shop-1.sql" }),
  );
  equal(value(other, "RESTORE_FROM_PATH"), "team-backups/prod/eks_prod/prod/shop");
  equal(value(other, "RESTORE_FROM_BACKUP"), "prod_shop-1.sql");
  // Its own folder stays the instance's: the source is read only while the instance has no backup of its own.
  equal(value(other, "STORE_PATH"), "team-backups/prod/kwok-mo-1/shop/db");
  const job = backup(from({ namespace: "prod", name: "shop" }));
  ok([...env(job).keys()].every((k) => !k.startsWith("RESTORE_FROM")), "a backup Job reads no source");
});

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { backupJobName, childNames } from "./names.ts";
import { BACKUP_REASON_LABEL, childLabels } from "./labels.ts";
import { renderBackupJob, renderRestoreJob } from "./jobs.ts";
import { BACKUP_SCRIPT } from "./backup_script.ts";
import { RESTORE_SCRIPT } from "./restore_script.ts";
import { DEFAULT_RENDER_OPTIONS } from "./options.ts";
import { mysqlObject, TEST_HOST } from "./testing.ts";
import type { Job } from "./k8s_types.ts";

const opts = DEFAULT_RENDER_OPTIONS;

function envMap(job: Job): Record<string, unknown> {
  return Object.fromEntries(
    job.spec.template.spec.containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]),
  );
}

function backup(mysql = mysqlObject(), reason: "final" | "scheduled" | "manual" = "manual"): Job {
  return renderBackupJob(mysql, {
    jobName: backupJobName(mysql.metadata, reason, "t1"),
    reason,
    host: TEST_HOST,
  }, opts);
}

Deno.test("backup Job: one attempt, bounded, labelled with its reason, script as a constant sh -c", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const job = backup(mysql, "scheduled");
  equal(job.metadata.name, backupJobName(mysql.metadata, "scheduled", "t1"));
  equal(job.metadata.namespace, "ns1");
  const labels = { ...childLabels(mysql.metadata, "backup"), [BACKUP_REASON_LABEL]: "scheduled" };
  deepStrictEqual(job.metadata.labels, labels);
  deepStrictEqual(job.spec.template.metadata.labels, labels);
  equal(job.spec.backoffLimit, 0);
  equal(job.spec.activeDeadlineSeconds, 3600);
  equal(job.spec.ttlSecondsAfterFinished, 86400);
  const pod = job.spec.template.spec;
  equal(pod.restartPolicy, "Never");
  equal(pod.containers.length, 1);
  const [c] = pod.containers;
  deepStrictEqual(c.command, ["/bin/sh", "-c", BACKUP_SCRIPT]);
  ok(!("args" in c));
  equal(c.terminationMessagePolicy, "File");
  equal(c.terminationMessagePath, "/dev/termination-log");
  deepStrictEqual(c.volumeMounts, [{ name: "backup", mountPath: "/backup" }]);
  deepStrictEqual(pod.volumes, [
    { name: "backup", persistentVolumeClaim: { claimName: childNames(mysql.metadata).backupPVC } },
  ]);
  equal(job.metadata.ownerReferences?.[0].uid, mysql.metadata.uid);
});

Deno.test("backup Job environment follows the contract", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db", uid: "uid-42", spec: { database: "shop" } });
  deepStrictEqual(envMap(backup(mysql, "final")), {
    MYSQL_HOST: TEST_HOST,
    MYSQL_PORT: "3306",
    MYSQL_USER: "root",
    MYSQL_PASSWORD: { secretKeyRef: { name: childNames(mysql.metadata).secret, key: "password" } },
    MYSQL_DATABASE: "shop",
    INSTANCE_ID: "ns1/db",
    INSTANCE_UID: "uid-42",
    BACKUP_DIR: "/backup",
    BACKUP_SUBDIR: "ns1_db",
    BACKUP_RETENTION: "7",
    BACKUP_REASON: "final",
    // The Job's own UID, from the label the Job controller puts on its pods.
    JOB_UID: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']" } },
  });
  const kept = mysqlObject({ spec: { backup: { retention: 3 }, passwordSecretRef: { name: "root" } } });
  const env = envMap(backup(kept));
  equal(env.BACKUP_RETENTION, "3");
  deepStrictEqual(env.MYSQL_PASSWORD, { secretKeyRef: { name: "root", key: "password" } });
});

Deno.test("restore Job: fixed name, restore labels, the same environment without BACKUP_REASON", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const job = renderRestoreJob(mysql, { host: TEST_HOST }, opts);
  equal(job.metadata.name, childNames(mysql.metadata).restoreJob);
  deepStrictEqual(job.metadata.labels, childLabels(mysql.metadata, "restore"));
  deepStrictEqual(job.spec.template.spec.containers[0].command, ["/bin/sh", "-c", RESTORE_SCRIPT]);
  const env = envMap(job);
  ok(!("BACKUP_REASON" in env));
  const { BACKUP_REASON: _, ...backupEnv } = envMap(backup(mysql));
  deepStrictEqual(env, backupEnv);
  equal(job.spec.backoffLimit, 0);
  equal(job.spec.template.spec.restartPolicy, "Never");
});

Deno.test("Job image is spec.backup.image, else spec.image; pull policy from the options", () => {
  equal(
    backup(mysqlObject({ spec: { image: "mysql:8.4" } })).spec.template.spec.containers[0].image,
    "mysql:8.4",
  );
  const custom = mysqlObject({ spec: { image: "mysql:8.4", backup: { image: "tools:1" } } });
  equal(backup(custom).spec.template.spec.containers[0].image, "tools:1");
  equal(
    renderRestoreJob(custom, { host: TEST_HOST }, opts).spec.template.spec.containers[0].image,
    "tools:1",
  );
  const pulled = renderRestoreJob(custom, { host: TEST_HOST }, { ...opts, imagePullPolicy: "IfNotPresent" });
  equal(pulled.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
});

Deno.test("the script text is identical for every object: no value is spliced into it", () => {
  const objects = [
    mysqlObject(),
    mysqlObject({
      namespace: "other",
      name: "x",
      uid: "u2",
      spec: { database: "db_$(reboot)", password: "'; rm -rf /" },
    }),
    mysqlObject({
      spec: { database: "otus-database", passwordSecretRef: { name: "s" }, backup: { retention: 9 } },
    }),
  ];
  const backups = objects.map((o) => JSON.stringify(backup(o).spec.template.spec.containers[0].command));
  const restores = objects.map((o) =>
    JSON.stringify(
      renderRestoreJob(o, { host: "10.0.0." + o.metadata.uid.length }, opts).spec.template.spec.containers[0]
        .command,
    )
  );
  equal(new Set(backups).size, 1);
  equal(new Set(restores).size, 1);
  for (const text of [...backups, ...restores]) {
    ok(!text.includes("otus-database") && !text.includes("db_$(reboot)") && !text.includes(TEST_HOST));
  }
});

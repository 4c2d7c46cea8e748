/**
 * Backups driven by the operator on a real control plane (kwok: Jobs complete without running; images under
 * `fail.invalid/` fail): on request (annotation, acted on once), on schedule (never before mysqld is Ready), and
 * failures reported without losing the last good backup time.
 */
import { assert, assertEquals } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import {
  clustersWithCRD,
  courseObject,
  eventsOf,
  getMySQL,
  kubectlApply,
  patchMySQL,
  waitCondition,
} from "./_k8s.ts";
import { withOperator as withOperatorIn } from "./_operator.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[2];

async function backupJobs(ns: string): Promise<string[]> {
  const out = await kubectl(
    ctx,
    "get",
    "jobs",
    "-n",
    ns,
    "-l",
    "app.kubernetes.io/component=backup",
    "-o",
    "name",
  );
  return out.split("\n").filter(Boolean);
}

function withOperator(prefix: string, fn: (ns: string) => Promise<void>) {
  return withOperatorIn({ kubeconfig, context: ctx, prefix }, (ns) => fn(ns));
}

Deno.test("backup now: the annotation is acted on once per value; a failure is reported and keeps the last good time", async () => {
  await withOperator("backupnow", async (ns) => {
    await kubectlApply(ctx, await courseObject(ns));
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    await kubectl(ctx, "annotate", "mysql", "mysql-instance", "-n", ns, "otus.homework/backup-now=first");
    const done = await waitCondition(ctx, ns, "mysql-instance", "BackupReady", "True", "BackupSucceeded");
    assertEquals(done.status?.backupNowHandled, "first");
    const firstTime = done.status?.lastBackupTime;
    assert(firstTime, "last backup time recorded");
    await waitFor("the recorded Job to be deleted", async () => (await backupJobs(ns)).length === 0);
    const pvc = JSON.parse(await kubectl(ctx, "get", "pvc", "mysql-instance-backup", "-n", ns, "-o", "json"));
    assertEquals(pvc.metadata.annotations["otus.homework/last-backup-time"], firstTime);

    // The same value again is not a new request: touching the object (a label) must not start a backup.
    await kubectl(ctx, "label", "mysql", "mysql-instance", "-n", ns, "touched=yes");
    await patchMySQL(ctx, ns, "mysql-instance", { "spec": { "backup": { "retention": 3 } } });
    const after = await waitFor("the spec change observed", async () => {
      const o = await getMySQL(ctx, ns, "mysql-instance");
      return o?.status?.observedGeneration === o?.metadata.generation ? o : undefined;
    });
    assertEquals(
      after.status?.lastBackupJob,
      done.status?.lastBackupJob,
      "no second backup for the same value",
    );
    assertEquals((await backupJobs(ns)).length, 0);

    // A failing backup (the image cannot run): reported, the last good time kept.
    await patchMySQL(ctx, ns, "mysql-instance", {
      "spec": { "backup": { "image": "fail.invalid/mysql:5.7" } },
    });
    await kubectl(
      ctx,
      "annotate",
      "--overwrite",
      "mysql",
      "mysql-instance",
      "-n",
      ns,
      "otus.homework/backup-now=second",
    );
    const failed = await waitCondition(ctx, ns, "mysql-instance", "BackupReady", "False", "BackupFailed");
    assertEquals(failed.status?.lastBackupTime, firstTime);
    assert(failed.status?.lastBackupFailure?.reason, "failure reason recorded");
    assertEquals(condition(failed, "Ready"), "True", "a failed backup does not take mysqld down");
    const events = await eventsOf(ctx, ns, "mysql-instance");
    assert(events.some((e) => e.reason === "BackupFailed" && e.type === "Warning"), JSON.stringify(events));
    assert(events.some((e) => e.reason === "BackupSucceeded"), JSON.stringify(events));
  });
});

function condition(
  o: { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined,
  type: string,
) {
  return o?.status?.conditions?.find((c) => c.type === type)?.status;
}

Deno.test("scheduled backups run at their slot, one at a time, and never before mysqld is Ready", async () => {
  await withOperator("schedule", async (ns) => {
    const every = { backup: { schedule: "* * * * *" } };
    await kubectlApply(ctx, await courseObject(ns, every, "scheduled"));
    // Same schedule and a backup request, but mysqld never becomes Ready (no node has 1000 cores: it stays Pending).
    const notReady = await courseObject(
      ns,
      { ...every, resources: { requests: { cpu: "1000" } } },
      "never-ready",
    );
    notReady.metadata.annotations = { "otus.homework/backup-now": "please" };
    await kubectlApply(ctx, notReady);
    await waitCondition(ctx, ns, "scheduled", "Ready", "True");
    const backedUp = await waitFor("a scheduled backup", async () => {
      const o = await getMySQL(ctx, ns, "scheduled");
      return o?.status?.lastScheduledSlot && o.status.lastBackupTime ? o : undefined;
    }, 130_000);
    assert(
      Date.parse(backedUp.status!.lastScheduledSlot!) > Date.parse(backedUp.metadata.creationTimestamp!),
    );
    assertEquals(condition(backedUp, "BackupReady"), "True");
    // A slot has passed since both objects existed: the one whose mysqld never became Ready took no backup.
    const never = await getMySQL(ctx, ns, "never-ready");
    assertEquals(never?.status?.phase, "Provisioning");
    assertEquals(never?.status?.lastScheduledSlot, undefined);
    assertEquals(never?.status?.backupNowHandled, undefined);
    const jobs = JSON.parse(
      await kubectl(
        ctx,
        "get",
        "jobs",
        "-n",
        ns,
        "-l",
        "app.kubernetes.io/instance=never-ready",
        "-o",
        "json",
      ),
    );
    assertEquals(jobs.items.length, 0);
  });
});

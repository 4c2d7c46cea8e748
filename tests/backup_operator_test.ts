/**
 * Backups driven by the operator on a real control plane (kwok: Jobs complete without running; images under
 * `fail.invalid/` fail): on request (annotation, acted on once), on schedule (never before mysqld is Ready), one
 * at a time per instance (proved from a watch of the Jobs), and failures reported without losing the last good
 * backup time.
 */
import { assert, assertEquals } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import {
  clientFor,
  clustersWithCRD,
  courseObject,
  eventsOf,
  getMySQL,
  kubectlApply,
  patchMySQL,
  recordWatch,
  type Seen,
  waitCondition,
} from "./_k8s.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
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

const INSTANCE = "app.kubernetes.io/instance";
const COMPONENT = "app.kubernetes.io/component";
const REASON = "otus.homework/backup-reason";

/** True when a Job's Complete or Failed condition is True. */
function finished(job: KubeObject): boolean {
  return (job.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    (c.type === "Complete" || c.type === "Failed") && c.status === "True"
  );
}

/**
 * Every time a backup Job of an instance became active while another backup Job of the same instance was still
 * active, from a recorded watch of Jobs in etcd order (resourceVersion). A Job is active from its first sighting
 * until it is Complete or Failed, or gone.
 */
function overlappingBackupJobs(seen: Seen[]): string[] {
  const active = new Map<string, Map<string, string>>(); // instance -> Job UID -> Job name
  const overlaps: string[] = [];
  for (const s of [...seen].sort((a, b) => a.rv - b.rv)) {
    const meta = s.obj.metadata ?? {};
    if (meta.labels?.[COMPONENT] !== "backup") continue;
    const instance = meta.labels?.[INSTANCE] ?? "";
    const jobs = active.get(instance) ?? new Map<string, string>();
    active.set(instance, jobs);
    const uid = meta.uid ?? "", name = meta.name ?? "";
    if (s.type === "DELETED" || finished(s.obj)) {
      jobs.delete(uid);
    } else if (!jobs.has(uid)) {
      for (const other of jobs.values()) overlaps.push(`${instance}: ${name} started while ${other} ran`);
      jobs.set(uid, name);
    }
  }
  return overlaps;
}

Deno.test("overlappingBackupJobs finds two active backup Jobs of one instance, and only that", () => {
  let rv = 0;
  const job = (
    type: string,
    name: string,
    instance: string,
    state?: "Complete" | "Failed",
    component = "backup",
  ) => ({
    type,
    rv: ++rv,
    obj: {
      metadata: { name, uid: `uid-${name}`, labels: { [INSTANCE]: instance, [COMPONENT]: component } },
      status: state ? { conditions: [{ type: state, status: "True" }] } : {},
    },
  });
  const inTurn = [
    job("ADDED", "a-s1", "a"),
    job("ADDED", "b-s1", "b"), // another instance may run at the same time
    job("ADDED", "a-restore", "a", undefined, "restore"), // not a backup
    job("MODIFIED", "a-s1", "a", "Complete"),
    job("ADDED", "a-m1", "a"),
    job("MODIFIED", "a-m1", "a", "Failed"),
    job("DELETED", "a-s1", "a", "Complete"),
    job("ADDED", "a-s2", "a"),
  ];
  assertEquals(overlappingBackupJobs(inTurn), []);
  const together = [
    job("ADDED", "a-s1", "a"),
    job("ADDED", "a-m1", "a"),
    job("MODIFIED", "a-s1", "a", "Complete"),
  ];
  assertEquals(overlappingBackupJobs(together), ["a: a-m1 started while a-s1 ran"]);
  // Order is etcd's (resourceVersion), not the order of the array.
  assertEquals(overlappingBackupJobs([together[2], together[1], together[0]]), [
    "a: a-m1 started while a-s1 ran",
  ]);
});

Deno.test("scheduled backups run at their slot, one at a time, and never before mysqld is Ready", async () => {
  await withOperator("schedule", async (ns) => {
    const client = await clientFor(kubeconfig, ctx);
    const jobWatch = recordWatch(client, RESOURCES.job, ns);
    try {
      // On fake nodes a backup Job finishes within a second or two, too fast to race anything. So hold backup Jobs:
      // a quota of two pods (the two mysqld pods below) lets no Job pod in, and a Job stays active without one.
      // It is in place before the objects exist, so even the first slot's Job is held.
      await kubectlApply(ctx, {
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata: { name: "hold-job-pods", namespace: ns },
        spec: { hard: { pods: "2" } },
      });
      const quotaPods = async (field: "hard" | "used") =>
        (await kubectl(
          ctx,
          "get",
          "resourcequota",
          "hold-job-pods",
          "-n",
          ns,
          "-o",
          `jsonpath={.status.${field}.pods}`,
        ))
          .trim();
      const quotaPodsUsed = () => quotaPods("used");
      // Admission refuses every pod until the quota controller has counted the namespace.
      await waitFor("the quota to be counted", async () => (await quotaPods("hard")) === "2");
      const every = { backup: { schedule: "* * * * *" } };
      // Same schedule and a backup request, but mysqld never becomes Ready (no node has 1000 cores: it stays
      // Pending). Its pod is made first and counted: were it made after the other's first backup Job (a loaded
      // machine's ReplicaSet controller can lag), that Job's pod would take the second place and run.
      const notReady = await courseObject(
        ns,
        { ...every, resources: { requests: { cpu: "1000" } } },
        "never-ready",
      );
      notReady.metadata.annotations = { "otus.homework/backup-now": "please" };
      await kubectlApply(ctx, notReady);
      await waitFor(
        "the never-ready mysqld pod counted by the quota",
        async () => (await quotaPodsUsed()) === "1",
        60_000,
      );
      await kubectlApply(ctx, await courseObject(ns, every, "scheduled"));
      await waitCondition(ctx, ns, "scheduled", "Ready", "True");
      // Both places taken before the first slot's Job exists: every backup Job is held without a pod.
      assertEquals(await quotaPodsUsed(), "2", "the quota's places are the two mysqld pods");

      const scheduledJob = await waitFor("the first scheduled backup Job", async () => {
        const jobs = await backupJobsOf(ns, "scheduled");
        return jobs.length > 0 ? jobs : undefined;
      }, 75_000);
      assertEquals(scheduledJob.length, 1);
      assertEquals(scheduledJob[0].metadata?.labels?.[REASON], "scheduled");
      // A backup request while the scheduled Job runs must wait for it, not run beside it.
      // With the request, a spec change the running Job does not care about: the pass that sees the request writes
      // status.observedGeneration at its end, after it would (wrongly) have started a second Job.
      const patched = JSON.parse(
        await kubectl(
          ctx,
          "patch",
          "mysql",
          "scheduled",
          "-n",
          ns,
          "--type=merge",
          "-p",
          JSON.stringify({
            metadata: { annotations: { "otus.homework/backup-now": "while-busy" } },
            spec: { backup: { retention: 7 } },
          }),
          "-o",
          "json",
        ),
      );
      await waitFor(
        "a pass that saw the request",
        async () =>
          ((await getMySQL(ctx, ns, "scheduled"))?.status?.observedGeneration ?? 0) >=
            patched.metadata.generation,
      );
      const held = await backupJobsOf(ns, "scheduled");
      assertEquals(
        held.map((j) => j.metadata?.name),
        [scheduledJob[0].metadata?.name],
        "no second Job while busy",
      );
      assert(!finished(held[0]), "the scheduled Job was still held (no pod) during the request");
      assertEquals((await getMySQL(ctx, ns, "scheduled"))?.status?.backupNowHandled, undefined);
      await kubectl(ctx, "delete", "resourcequota", "hold-job-pods", "-n", ns);

      // Released: the scheduled backup finishes, then the request runs (after, never beside it). Later slots may
      // add scheduled backups meanwhile, so the manual one is looked for in the watch, not in lastBackupJob.
      const manualDone = () =>
        jobWatch.seen.some((s) =>
          s.obj.metadata?.labels?.[INSTANCE] === "scheduled" &&
          s.obj.metadata?.labels?.[REASON] === "manual" &&
          s.obj.metadata?.labels?.[COMPONENT] === "backup" && finished(s.obj)
        );
      const backedUp = await waitFor("the scheduled backup, then the requested one", async () => {
        const o = await getMySQL(ctx, ns, "scheduled");
        return o?.status?.backupNowHandled === "while-busy" && o.status.lastBackupTime && manualDone()
          ? o
          : undefined;
      }, 120_000);
      assert(
        Date.parse(backedUp.status!.lastScheduledSlot!) > Date.parse(backedUp.metadata.creationTimestamp!),
      );
      assertEquals(condition(backedUp, "BackupReady"), "True");
      await jobWatch.stop();
      const reasons = new Set(
        jobWatch.seen.filter((s) => s.obj.metadata?.labels?.[INSTANCE] === "scheduled")
          .map((s) => s.obj.metadata?.labels?.[REASON]),
      );
      assert(
        reasons.has("scheduled") && reasons.has("manual"),
        `backup Jobs seen: ${[...reasons].join(", ")}`,
      );
      assertEquals(overlappingBackupJobs(jobWatch.seen), [], "backup Jobs of one instance ran one at a time");

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
    } finally {
      await jobWatch.stop();
      client.close();
    }
  });
});

/** The backup Jobs of one instance, as objects. */
async function backupJobsOf(ns: string, instance: string): Promise<KubeObject[]> {
  const out = await kubectl(
    ctx,
    "get",
    "jobs",
    "-n",
    ns,
    "-l",
    `${COMPONENT}=backup,${INSTANCE}=${instance}`,
    "-o",
    "json",
  );
  return JSON.parse(out).items;
}

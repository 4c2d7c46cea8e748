/**
 * The operator core end to end on a real control plane (kwok nodes: pods become Ready and Jobs complete without
 * running; images under `fail.invalid/` fail). Each test has its own namespace and its own operator process
 * serving only that namespace, so tests never share state.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import {
  claimGoing,
  clientFor,
  clustersWithCRD,
  completedFinalBackup,
  condition,
  courseObject,
  eventsOf,
  getMySQL,
  kubectlApply,
  patchMySQL,
  recordWatch,
  waitCondition,
} from "./_k8s.ts";
import { type OperatorProcess, startOperatorProcess, withOperator as withOperatorIn } from "./_operator.ts";
import { freshNamespace } from "./_clusters.ts";
import { describe, writesBy, writesSince } from "./_audit.ts";
import { userAgent } from "../runtime/operator.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { FINALIZER } from "../api/mysql.ts";
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { FOREGROUND_FINALIZER } from "../reconcilers/final_decision.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[0];

function withOperator(
  prefix: string,
  fn: (ns: string, op: () => OperatorProcess, restart: () => Promise<void>) => Promise<void>,
) {
  return withOperatorIn({ kubeconfig, context: ctx, prefix, args: ["--lease-duration-seconds", "4"] }, fn);
}

async function exists(kind: string, ns: string | undefined, name: string): Promise<boolean> {
  const out = await kubectl(
    ctx,
    "get",
    kind,
    name,
    ...(ns ? ["-n", ns] : []),
    "--ignore-not-found",
    "-o",
    "name",
  );
  return out.trim() !== "";
}

Deno.test("course scenario: create → Ready → delete runs the final backup before data goes → re-create restores", async () => {
  await withOperator("course", async (ns) => {
    const client = await clientFor(kubeconfig, ctx);
    const obj = await courseObject(ns);
    await kubectlApply(ctx, obj);
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    assertEquals(ready.status?.phase, "Ready");
    assertEquals(ready.status?.observedGeneration, ready.metadata.generation);
    assertEquals(ready.status?.restore?.result, "NothingToRestore");
    assert(ready.metadata.finalizers?.includes(FINALIZER));
    const names = childNames({ namespace: ns, name: "mysql-instance", uid: ready.metadata.uid });
    for (
      const [kind, name] of [
        ["deployment", names.deployment],
        ["service", names.service],
        ["pvc", names.dataPVC],
        ["pvc", names.backupPVC],
        ["secret", names.secret],
      ]
    ) {
      assert(await exists(kind, ns, name), `${kind} ${name} exists`);
    }
    assert(await exists("pv", undefined, names.dataPV), "data PV exists");
    assertEquals(condition(ready, "CredentialsSecured")?.reason, "PlaintextPassword");

    // Delete: record jobs and claims with resourceVersions (etcd's global order) to prove the order.
    const jobs = recordWatch(client, RESOURCES.job, ns);
    const pvcs = recordWatch(client, RESOURCES.pvc, ns);
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
    await waitFor(
      "the MySQL object to be gone",
      async () => !(await getMySQL(ctx, ns, "mysql-instance")),
      60_000,
    );
    await waitFor("the data PVC to be gone", async () => !(await exists("pvc", ns, names.dataPVC)), 60_000);
    await jobs.stop();
    await pvcs.stop();
    const completed = completedFinalBackup(jobs.seen);
    assert(completed, "a final backup Job completed");
    const dataGoing = claimGoing(pvcs.seen, names.dataPVC);
    assert(dataGoing, "the data PVC was deleted");
    assert(
      completed.rv < dataGoing.rv,
      `backup completed (rv ${completed.rv}) before the data PVC went (rv ${dataGoing.rv})`,
    );
    assert(await exists("pvc", ns, names.backupPVC), "backup PVC kept");
    // Deleted by the operator; pv-protection lets it go after its claim (gone above).
    await waitFor("the data PV to go", async () => !(await exists("pv", undefined, names.dataPV)));
    const backupPVC = JSON.parse(await kubectl(ctx, "get", "pvc", names.backupPVC, "-n", ns, "-o", "json"));
    assert(backupPVC.metadata.annotations["otus.homework/last-backup-time"], "backup PVC records the backup");
    const reasons = (await eventsOf(ctx, ns, "mysql-instance")).map((e) => e.reason);
    assert(reasons.includes("BackupStarted") && reasons.includes("BackupSucceeded"), reasons.join(","));

    // Re-create: the restore Job runs once mysqld is Ready, and its outcome is recorded.
    const jobs2 = recordWatch(client, RESOURCES.job, ns);
    await kubectlApply(ctx, obj);
    const again = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    await jobs2.stop();
    assertEquals(again.status?.restore?.result, "Restored");
    assertEquals(condition(again, "Restored")?.status, "True");
    assert(jobs2.seen.some((s) => s.obj.metadata?.name === `mysql-instance-restore`), "restore Job ran");
    await waitFor(
      "the finished restore Job to be deleted",
      async () => !(await exists("job", ns, "mysql-instance-restore")),
    );
    client.close();
  });
});

Deno.test("restarts mid-creation and mid-deletion converge without duplicates or conflict loops", async () => {
  await withOperator("restart", async (ns, op, restart) => {
    await kubectlApply(ctx, await courseObject(ns));
    await waitFor("the first child", () => exists("secret", ns, "mysql-instance-credentials"));
    await restart(); // kill -9 in the middle of creation
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const deployments = JSON.parse(await kubectl(ctx, "get", "deployments", "-n", ns, "-o", "json")).items;
    assertEquals(deployments.length, 1);
    const pvs =
      JSON.parse(await kubectl(ctx, "get", "pv", "-l", `otus.homework/namespace=${ns}`, "-o", "json")).items;
    assertEquals(pvs.length, 2, "one data PV and one backup PV");
    assertEquals(ready.metadata.finalizers?.filter((f) => f === FINALIZER).length, 1);

    // Watched, not polled: on fake nodes the final backup can start, finish and be cleaned up between two polls.
    const client = await clientFor(kubeconfig, ctx);
    const jobs = recordWatch(client, RESOURCES.job, ns);
    try {
      await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
      await waitFor(
        "the final backup Job",
        () => jobs.seen.some((e) => e.obj.metadata?.labels?.["otus.homework/backup-reason"] === "final"),
      );
    } finally {
      await jobs.stop();
      client.close();
    }
    await restart(); // kill -9 in the middle of deletion
    await waitFor("the object to be gone", async () => !(await getMySQL(ctx, ns, "mysql-instance")), 60_000);
    assert(await exists("pvc", ns, "mysql-instance-backup"), "backup PVC kept");
    const metrics = (await op().http("/metrics")).body;
    // The series exists from the start (0 until an error): a missing one is a broken metric, not "no errors".
    const series = /^mysql_operator_reconcile_errors_total\{[^}]*\} (\d+)/m.exec(metrics);
    assert(series, `mysql_operator_reconcile_errors_total is exported:\n${metrics.slice(0, 3000)}`);
    const errors = Number(series[1]);
    assert(errors <= 2, `no conflict loop (reconcile errors after restart: ${errors})`);
  });
});

Deno.test("a failing final backup keeps data and finalizer, reports it, and succeeds once the cause is gone", async () => {
  await withOperator("failbackup", async (ns) => {
    const obj = await courseObject(ns, { backup: { image: "fail.invalid/mysql:5.7" } });
    await kubectlApply(ctx, obj);
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
    const failing = await waitCondition(
      ctx,
      ns,
      "mysql-instance",
      "BackupReady",
      "False",
      "BackupFailed",
      90_000,
    );
    assert(failing.metadata.deletionTimestamp, "still being deleted");
    assert(failing.metadata.finalizers?.includes(FINALIZER), "finalizer kept");
    assert(failing.status?.lastBackupFailure?.reason, "failure reason recorded");
    assert(await exists("pvc", ns, "mysql-instance-data"), "data kept");
    const events = await eventsOf(ctx, ns, "mysql-instance");
    assert(events.some((e) => e.reason === "BackupFailed" && e.type === "Warning"), JSON.stringify(events));
    // Fix the cause: the next attempt (after backoff) succeeds and the deletion completes.
    await patchMySQL(ctx, ns, "mysql-instance", { spec: { backup: { image: "mysql:5.7" } } });
    await waitFor("the object to be gone", async () => !(await getMySQL(ctx, ns, "mysql-instance")), 120_000);
    assert(await exists("pvc", ns, "mysql-instance-backup"), "backup PVC kept");
  });
});

Deno.test("drift is corrected and spec changes roll out", async () => {
  await withOperator("drift", async (ns) => {
    await kubectlApply(ctx, await courseObject(ns));
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    await kubectl(ctx, "delete", "deployment", "mysql-instance", "-n", ns, "--wait=false");
    await kubectl(ctx, "delete", "service", "mysql-instance", "-n", ns, "--wait=false");
    await waitFor("the Deployment back", async () => {
      const d = JSON.parse(await kubectl(ctx, "get", "deployment", "mysql-instance", "-n", ns, "-o", "json"));
      return !d.metadata.deletionTimestamp;
    }, 30_000);
    await waitFor("the Service back", () => exists("service", ns, "mysql-instance"), 30_000);
    // An edit by hand is put back.
    await kubectl(
      ctx,
      "patch",
      "deployment",
      "mysql-instance",
      "-n",
      ns,
      "--type=json",
      "-p",
      JSON.stringify([{
        op: "replace",
        path: "/spec/template/spec/containers/0/image",
        value: "mysql:hacked",
      }]),
    );
    await waitFor(
      "the image edit put back",
      async () =>
        (await kubectl(
          ctx,
          "get",
          "deployment",
          "mysql-instance",
          "-n",
          ns,
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        )) === "mysql:5.7",
      30_000,
    );
    // A spec change rolls out.
    await patchMySQL(ctx, ns, "mysql-instance", { spec: { image: "mysql:8.4" } });
    await waitFor(
      "the new image rolled out",
      async () =>
        (await kubectl(
          ctx,
          "get",
          "deployment",
          "mysql-instance",
          "-n",
          ns,
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        )) === "mysql:8.4",
      30_000,
    );
    // Ready for the new generation: the pass applies the Deployment before it writes its status, so a read in
    // between still shows the earlier generation's Ready.
    await waitFor("Ready with the new spec observed", async () => {
      const o = await getMySQL(ctx, ns, "mysql-instance");
      return o?.status?.observedGeneration === o?.metadata.generation &&
        condition(o, "Ready")?.status === "True";
    }, 60_000);
    const strategy = await kubectl(
      ctx,
      "get",
      "deployment",
      "mysql-instance",
      "-n",
      ns,
      "-o",
      "jsonpath={.spec.strategy.type}",
    );
    assertEquals(strategy, "Recreate");
  });
});

Deno.test("bad input: the API server rejects what it can, the operator reports the rest and serves the others", async () => {
  await withOperator("badinput", async (ns) => {
    const reject = async (obj: unknown, expected: RegExp) => {
      try {
        await kubectlApply(ctx, obj);
      } catch (err) {
        assertMatch((err as Error).message, expected);
        return;
      }
      throw new Error(`expected ${JSON.stringify(obj)} to be rejected`);
    };
    const base = await courseObject(ns);
    await reject({ ...base, spec: undefined }, /spec: Required value/);
    await reject({ ...base, spec: { ...base.spec, storage_size: "lots" } }, /storage_size/);
    await reject({ ...base, spec: { ...base.spec, database: "x`; DROP" } }, /database/);
    await reject(
      { ...base, spec: { ...base.spec, passwordSecretRef: { name: "s" } } },
      /exactly one of spec.password and spec.passwordSecretRef/,
    );

    const missing = await courseObject(
      ns,
      { password: undefined, passwordSecretRef: { name: "nope" } },
      "missing-secret",
    );
    await kubectlApply(ctx, missing);
    await kubectlApply(ctx, await courseObject(ns, {}, "healthy"));
    const bad = await waitCondition(ctx, ns, "missing-secret", "Ready", "False", "PasswordSecretNotFound");
    assertStringIncludes(condition(bad, "Ready")!.message, "nope");
    await waitFor(
      "a PasswordSecretNotFound event",
      async () =>
        (await eventsOf(ctx, ns, "missing-secret")).some((e) => e.reason === "PasswordSecretNotFound"),
    );
    await waitCondition(ctx, ns, "healthy", "Ready", "True");
    assert(!(await exists("deployment", ns, "missing-secret")), "nothing started without credentials");
    // Providing the Secret fixes it.
    await kubectl(ctx, "create", "secret", "generic", "nope", "-n", ns, "--from-literal=password=s3cret");
    await waitCondition(ctx, ns, "missing-secret", "Ready", "True", undefined, 90_000);
  });
});

Deno.test("a foreground cascading deletion still takes the final backup before the data goes", async () => {
  await withOperator("foreground", async (ns) => {
    const client = await clientFor(kubeconfig, ctx);
    await kubectlApply(ctx, await courseObject(ns));
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const jobs = recordWatch(client, RESOURCES.job, ns);
    const pvcs = recordWatch(client, RESOURCES.pvc, ns);
    const deployments = recordWatch(client, RESOURCES.deployment, ns);
    const objects = recordWatch(client, MYSQL_RESOURCE, ns);
    // Each recording has listed (else a child made early could be listed as existing instead of seen added).
    await Promise.all([jobs.listed, pvcs.listed, deployments.listed, objects.listed]);
    // Foreground: the garbage collector deletes owned children (mysqld included) before the owner, and deletes
    // any owned child made while the owner carries its foregroundDeletion finalizer.
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--cascade=foreground", "--wait=false");
    await waitFor(
      "the MySQL object to be gone",
      async () => !(await getMySQL(ctx, ns, "mysql-instance")),
      90_000,
    );
    await Promise.all([jobs.stop(), pvcs.stop(), deployments.stop(), objects.stop()]);
    const completed = completedFinalBackup(jobs.seen);
    assert(completed, "a final backup Job completed");
    const dataGoing = claimGoing(pvcs.seen, "mysql-instance-data");
    assert(dataGoing && completed.rv < dataGoing.rv, "the final backup completed before the data PVC went");
    // A child made before the garbage collector is done would be deleted under the backup (a lost attempt and
    // a growing retry delay): mysqld and the Job start only once the foregroundDeletion finalizer is gone.
    const collected = objects.seen.find((s) =>
      s.obj.metadata?.deletionTimestamp && !s.obj.metadata.finalizers?.includes(FOREGROUND_FINALIZER)
    );
    assert(collected, "the garbage collector removed its foregroundDeletion finalizer");
    const early = [...deployments.seen, ...jobs.seen].filter((s) =>
      s.type === "ADDED" && s.rv < collected.rv
    );
    assertEquals(
      early.map((s) => `${s.obj.kind} ${s.obj.metadata?.name}`),
      [],
      "children made during collection",
    );
    const attempts = objects.seen.map((s) => s.obj.status?.finalBackupAttempts ?? 0);
    assertEquals(Math.max(0, ...attempts), 0, "no final backup attempt failed");
    assert(!(await exists("deployment", ns, "mysql-instance")), "mysqld removed at the end");
    assert(await exists("pvc", ns, "mysql-instance-backup"), "backup PVC kept");
    client.close();
  });
});

Deno.test("an idle operator writes nothing: a restart and two resyncs later, the API server saw no write from it", async () => {
  const ns = await freshNamespace(ctx, "idle");
  const args = [
    "--kubeconfig",
    kubeconfig,
    "--context",
    ctx,
    "--namespace",
    ns.name,
    "--resync-seconds",
    "10",
  ];
  const run = crypto.randomUUID().slice(0, 8);
  const [first, second] = [`idle-first-${run}`, `idle-second-${run}`];
  const t0 = new Date();
  let op = await startOperatorProcess([...args, "--identity", first]);
  try {
    await kubectlApply(ctx, await courseObject(ns.name));
    await waitCondition(ctx, ns.name, "mysql-instance", "Ready", "True");
    await op.stop();
    // The audit log can see this operator's writes: the first process created the children.
    const created = (await writesBy(ctx, first, t0)).filter((e) =>
      e.verb === "create" && e.objectRef?.namespace === ns.name
    );
    assert(
      created.some((e) => e.objectRef?.resource === "deployments"),
      `the audit log shows the first process creating the Deployment:\n${describe(created)}`,
    );
    // A fresh process builds its caches from lists (not watch events) and must find nothing to change.
    op = await startOperatorProcess([...args, "--identity", second]);
    const metric = (text: string, name: string, filter: (labels: string) => boolean) =>
      [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, "gm"))]
        .filter((m) => filter(m[1])).reduce((a, m) => a + Number(m[2]), 0);
    const text = await waitFor("two resyncs after the first pass", async () => {
      const t = (await op.http("/metrics")).body;
      return metric(t, "mysql_operator_reconciles_total", () => true) >= 3 ? t : undefined;
    }, 60_000);
    // A write of ours after the resyncs: once the API server has logged it, it has logged anything before it.
    const mark = `idle-mark-${run}`;
    await kubectl(ctx, "create", "configmap", mark, "-n", ns.name);
    const writes = await waitFor("the mark in the audit log", async () => {
      const all = await writesSince(ctx, t0);
      return all.some((e) => e.objectRef?.name === mark) ? all : undefined;
    });
    // Lease renewals are an elected operator's only writes by design (every lease duration / 3).
    const ua = userAgent(second);
    const idle = writes.filter((e) => e.userAgent === ua && e.objectRef?.resource !== "leases");
    assertEquals(describe(idle), "", "writes the API server received from the idle operator");
    // The operator's own counter agrees.
    const counted = metric(
      text,
      "mysql_operator_api_requests_total",
      (l) => /verb="(apply|patch|create|delete)"/.test(l),
    );
    assertEquals(counted, 0, "writes counted by the operator while idle");
  } catch (err) {
    console.error(await op.logs());
    throw err;
  } finally {
    await op.stop();
    await ns.cleanup();
  }
});

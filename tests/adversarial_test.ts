/**
 * The ownership and data-safety guarantees, attacked the way a careless or hostile user, a GitOps tool or a namespace
 * deletion would, on a real control plane (kwok nodes). Each test first does what broke the guarantee before
 * (issue 12; the command sequence is in its name or comment), then asserts the guarantee:
 *
 * - it touches only what it created: same-named Deployment, Service, Secret and claim of another app are never
 *   written, adopted or deleted, at creation, drift correction or deletion;
 * - data goes only after a verified final backup: a relabelled or hand-deleted data claim changes nothing;
 * - deleting the namespace leaves the data and backup volumes, and the re-created instance gets its data back.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { applyObject, dropFinalizers, kubectl, waitFor } from "./_clusters.ts";
import {
  clustersWithCRD,
  condition,
  courseObject,
  eventsOf,
  getMySQL,
  kubectlApply,
  patchMySQL,
  waitCondition,
} from "./_k8s.ts";
import { withOperator as withOperatorIn } from "./_operator.ts";
import { childNames } from "../templates/names.ts";
import { FINALIZER } from "../api/mysql.ts";
import { RETAINED_ANNOTATION } from "../templates/labels.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[0];

function withOperator(prefix: string, fn: (ns: string) => Promise<void>) {
  return withOperatorIn({ kubeconfig, context: ctx, prefix }, fn);
}

// deno-lint-ignore no-explicit-any
type Obj = any;

async function getJson(kind: string, ns: string | undefined, name: string): Promise<Obj | undefined> {
  const out = await kubectl(
    ctx,
    "get",
    kind,
    name,
    ...(ns ? ["-n", ns] : []),
    "-o",
    "json",
    "--ignore-not-found",
  );
  return out.trim() ? JSON.parse(out) : undefined;
}

/** Another application `api`: Deployment, Service, Secret and a claim, named like the children of a MySQL `api`. */
function foreignApp(ns: string): Obj[] {
  const labels = { app: "api" };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: "api", image: "example/api:1" }] } },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "api", namespace: ns, labels },
      spec: { selector: labels, ports: [{ port: 80 }] },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "api-credentials", namespace: ns, labels },
      stringData: { token: "their-token" },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "api-data", namespace: ns, labels },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        storageClassName: "x",
      },
    },
  ];
}

/** The parts of an object another app cares about: identity, version, metadata we could have touched, data. */
async function fingerprint(kind: string, ns: string, name: string) {
  const o = await getJson(kind, ns, name);
  assert(o, `${kind} ${name} exists`);
  return {
    uid: o.metadata.uid,
    resourceVersion: o.metadata.resourceVersion,
    labels: o.metadata.labels,
    ownerReferences: o.metadata.ownerReferences,
    deletion: o.metadata.deletionTimestamp,
    data: o.data,
  };
}

const FOREIGN = [["deployment", "api"], ["service", "api"], ["secret", "api-credentials"], [
  "pvc",
  "api-data",
]];

Deno.test("another app's Deployment/Service/Secret/PVC named like the children: create reports NameConflict and writes nothing; delete takes none of them (kubectl apply app; kubectl apply MySQL api; kubectl annotate skip-final-backup; kubectl delete mysql api)", async () => {
  await withOperator("adv-foreign", async (ns) => {
    for (const o of foreignApp(ns)) await applyObject(ctx, o);
    const before = await Promise.all(FOREIGN.map(([k, n]) => fingerprint(k, ns, n)));
    await kubectlApply(ctx, await courseObject(ns, {}, "api"));
    // Judge only after the operator acted on the object (it wrote status), and again after a spec change.
    await waitFor(
      "the operator's first pass",
      async () => (await getMySQL(ctx, ns, "api"))?.status?.observedGeneration,
    );
    assertEquals(
      await Promise.all(FOREIGN.map(([k, n]) => fingerprint(k, ns, n))),
      before,
      "nothing written",
    );
    await patchMySQL(ctx, ns, "api", { spec: { storage_size: "2Gi" } });
    await waitFor("the spec change observed", async () => {
      const o = await getMySQL(ctx, ns, "api");
      return o?.status?.observedGeneration === o?.metadata.generation;
    });
    assertEquals(
      await Promise.all(FOREIGN.map(([k, n]) => fingerprint(k, ns, n))),
      before,
      "nothing written",
    );
    const conflict = await waitCondition(ctx, ns, "api", "Ready", "False", "NameConflict");
    const msg = condition(conflict, "Ready")!.message;
    for (
      const name of [
        "Deployment api",
        "Service api",
        "Secret api-credentials",
        "PersistentVolumeClaim api-data",
      ]
    ) {
      assertMatch(msg, new RegExp(name), "the condition names every object in the way");
    }
    const events = await eventsOf(ctx, ns, "api");
    assert(events.some((e) => e.reason === "NameConflict" && e.type === "Warning"), JSON.stringify(events));
    const pvs = JSON.parse(
      await kubectl(ctx, "get", "pv", "-l", `otus.homework/namespace=${ns}`, "-o", "json"),
    );
    assertEquals(pvs.items.length, 0, "no volume made for an instance that cannot run");

    await kubectl(ctx, "annotate", "mysql", "api", "-n", ns, "otus.homework/skip-final-backup=true");
    await kubectl(ctx, "delete", "mysql", "api", "-n", ns, "--wait=false");
    await waitFor("the MySQL object to be gone", async () => !(await getMySQL(ctx, ns, "api")), 60_000);
    assertEquals(
      await Promise.all(FOREIGN.map(([k, n]) => fingerprint(k, ns, n))),
      before,
      "nothing deleted",
    );
  });
});

Deno.test("drift correction never writes a Service that is no longer ours (kubectl patch svc: drop ownerReferences, relabel), and the instance resumes once it goes", async () => {
  await withOperator("adv-drift", async (ns) => {
    await kubectlApply(ctx, await courseObject(ns));
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    // Taken over: another tool removes our owner reference and relabels the Service, then changes its selector.
    await kubectl(
      ctx,
      "patch",
      "service",
      "mysql-instance",
      "-n",
      ns,
      "--type=json",
      "-p",
      JSON.stringify([
        { op: "remove", path: "/metadata/ownerReferences" },
        { op: "replace", path: "/metadata/labels", value: { app: "someone-else" } },
        { op: "replace", path: "/spec/selector", value: { app: "someone-else" } },
      ]),
    );
    // The operator reacts: a conflict (now), or it writes its labels and owner reference back (before the fix).
    const svcNow = () => getJson("service", ns, "mysql-instance");
    await waitFor("the operator to react", async () => {
      const o = await getMySQL(ctx, ns, "mysql-instance");
      const svc = await svcNow();
      return condition(o, "Ready")?.reason === "NameConflict" || svc.metadata.ownerReferences ||
        svc.metadata.labels?.app !== "someone-else";
    });
    const svc = await svcNow();
    assertEquals(svc.metadata.labels, { app: "someone-else" }, "the Service's labels are not written back");
    assertEquals(svc.metadata.ownerReferences, undefined, "the Service is not adopted");
    assertEquals(svc.spec.selector, { app: "someone-else" }, "the Service's selector is not written back");
    // The other tool deletes it: the operator makes its own again.
    await kubectl(ctx, "delete", "service", "mysql-instance", "-n", ns);
    await waitCondition(ctx, ns, "mysql-instance", "Ready", "True", undefined, 90_000);
    assertEquals((await svcNow()).metadata.ownerReferences?.[0]?.kind, "MySQL");
  });
});

Deno.test("a relabelled and then hand-deleted data claim never leads to data deletion without a verified final backup (final backup failing; kubectl label pvc managed-by=argocd; kubectl delete pvc)", async () => {
  await withOperator("adv-relabel", async (ns) => {
    await kubectlApply(ctx, await courseObject(ns, { backup: { image: "fail.invalid/mysql:5.7" } }));
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const names = childNames({ namespace: ns, name: "mysql-instance", uid: ready.metadata.uid });
    const pv = await getJson("pv", undefined, names.dataPV);
    assert(pv, "data PV exists");
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
    await waitCondition(ctx, ns, "mysql-instance", "BackupReady", "False", "BackupFailed", 90_000);

    // A GitOps tool adopts the claim: it vanishes from the operator's label-selected cache.
    await kubectl(
      ctx,
      "label",
      "--overwrite",
      "pvc",
      names.dataPVC,
      "-n",
      ns,
      "app.kubernetes.io/managed-by=argocd",
      "argocd.argoproj.io/instance=shop",
    );
    const attempts = (await getMySQL(ctx, ns, "mysql-instance"))?.status?.finalBackupAttempts ?? 0;
    await waitFor(
      "another failed final backup attempt after the relabel",
      async () => ((await getMySQL(ctx, ns, "mysql-instance"))?.status?.finalBackupAttempts ?? 0) > attempts,
      120_000,
    );
    assert(await getJson("pvc", ns, names.dataPVC), "the relabelled data claim is kept");
    assertEquals(
      (await getJson("pv", undefined, names.dataPV))?.metadata.uid,
      pv.metadata.uid,
      "data PV kept",
    );

    // Someone deletes the claim by hand. mysqld's pod still uses it, so it stays Terminating (pvc-protection);
    // the volume is Retain either way, and the operator goes on trying the final backup.
    await kubectl(ctx, "delete", "pvc", names.dataPVC, "-n", ns, "--wait=false");
    const attempts2 = (await getMySQL(ctx, ns, "mysql-instance"))?.status?.finalBackupAttempts ?? 0;
    await waitFor(
      "another failed final backup attempt after the hand deletion",
      async () => ((await getMySQL(ctx, ns, "mysql-instance"))?.status?.finalBackupAttempts ?? 0) > attempts2,
      120_000,
    );
    assertEquals(
      (await getJson("pv", undefined, names.dataPV))?.metadata.uid,
      pv.metadata.uid,
      "data PV kept",
    );
    const obj = await getMySQL(ctx, ns, "mysql-instance");
    assert(
      obj?.metadata.finalizers?.includes(FINALIZER),
      "still held by the finalizer: no verified backup yet",
    );
    assertEquals(obj?.status?.finalBackupTime, undefined);

    // The cause goes: the final backup succeeds, and only then the data goes.
    await patchMySQL(ctx, ns, "mysql-instance", { spec: { backup: { image: "mysql:5.7" } } });
    await waitFor("the object to be gone", async () => !(await getMySQL(ctx, ns, "mysql-instance")), 180_000);
    const events = await eventsOf(ctx, ns, "mysql-instance");
    assert(
      events.some((e) => e.reason === "BackupSucceeded" && /final/.test(e.message)),
      JSON.stringify(events),
    );
    // The operator deletes the volume and drops its finalizer; pv-protection lets the volume go once its claim has.
    await waitFor(
      "the data volume to go after the verified final backup",
      async () => !(await getJson("pv", undefined, names.dataPV)),
    );
  });
});

Deno.test("deleting the namespace keeps the data and backup volumes, and the re-created instance takes its data volume back (kubectl delete ns; kubectl create ns; kubectl apply MySQL)", async () => {
  await withOperator("adv-ns", async (ns) => {
    // The password comes from the user's Secret, which the namespace deletion takes too: nothing may wait for it.
    const withSecret = async () => {
      await applyObject(ctx, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "db-root", namespace: ns },
        stringData: { password: "s3cret" },
      });
      const obj = await courseObject(ns, { passwordSecretRef: { name: "db-root" } });
      delete obj.spec.password;
      await kubectlApply(ctx, obj);
    };
    await withSecret();
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const names = childNames({ namespace: ns, name: "mysql-instance", uid: ready.metadata.uid });
    const dataPV = await getJson("pv", undefined, names.dataPV);
    const backupPV = await getJson("pv", undefined, names.backupPV);
    assert(dataPV && backupPV, "both volumes exist");
    try {
      await kubectl(ctx, "delete", "namespace", ns, "--wait=false");
      await waitFor(
        "the namespace to be gone",
        async () => !(await getJson("namespace", undefined, ns)),
        120_000,
      );
      const kept = await getJson("pv", undefined, names.dataPV);
      assertEquals(kept?.metadata.uid, dataPV.metadata.uid, "the data volume is kept");
      assertEquals(kept.spec.persistentVolumeReclaimPolicy, "Retain");
      assert(kept.metadata.annotations?.[RETAINED_ANNOTATION], "marked as kept without a final backup");
      assertEquals((await getJson("pv", undefined, names.backupPV))?.metadata.uid, backupPV.metadata.uid);

      await kubectl(ctx, "create", "namespace", ns);
      await withSecret();
      const again = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True", undefined, 120_000);
      assert(again.metadata.uid !== ready.metadata.uid, "a new incarnation");
      assertEquals(again.status?.restore?.result, "KeptData");
      assertEquals(again.status?.dataVolumeName, names.dataPV);
      const claim = await getJson("pvc", ns, names.dataPVC);
      assertEquals(claim.spec.volumeName, names.dataPV, "the new claim is bound to the kept data volume");
      assertEquals((await getJson("pv", undefined, names.dataPV))?.metadata.uid, dataPV.metadata.uid);
    } finally {
      // The kept volume of the first incarnation carries the old namespace label too; remove both PVs.
      await kubectl(ctx, "delete", "pv", names.dataPV, names.backupPV, "--ignore-not-found", "--wait=false");
    }
  });
});

/** Plays a storage class's provisioner: a PV for the claim, pre-bound to its UID, reclaim policy Delete. */
async function provision(ns: string, claim: string, storageClass: string): Promise<string> {
  const pvc = await waitFor(`claim ${claim}`, () => getJson("pvc", ns, claim));
  const name = `pvc-${pvc.metadata.uid}`;
  await applyObject(ctx, {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: pvc.spec.resources.requests.storage },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: storageClass,
      hostPath: { path: `/tmp/provisioned/${name}` },
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ns,
        name: claim,
        uid: pvc.metadata.uid,
      },
    },
  });
  return name;
}

Deno.test("a volume a storage class provisions (reclaim Delete) is set to Retain while it holds data, survives a namespace deletion, and goes only after the verified final backup (kubectl apply MySQL storageClassName; kubectl delete ns; re-create; kubectl delete mysql)", async () => {
  const storageClass = `adv-sc-${crypto.randomUUID().slice(0, 6)}`;
  await applyObject(ctx, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: storageClass },
    provisioner: "example.com/played-by-the-test",
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  });
  const pvs: string[] = [];
  try {
    await withOperator("adv-sc", async (ns) => {
      await kubectlApply(ctx, await courseObject(ns, { storageClassName: storageClass }));
      const data = await provision(ns, "mysql-instance-data", storageClass);
      const backup = await provision(ns, "mysql-instance-backup", storageClass);
      pvs.push(data, backup);
      await waitCondition(ctx, ns, "mysql-instance", "Ready", "True", undefined, 90_000);
      for (const pv of [data, backup]) {
        const retained = await waitFor(`${pv} set to Retain`, async () => {
          const o = await getJson("pv", undefined, pv);
          return o?.spec.persistentVolumeReclaimPolicy === "Retain" ? o : undefined;
        });
        assertEquals(retained.metadata.annotations?.["otus.homework/instance"], `${ns}/mysql-instance`);
      }
      // The namespace goes before any final backup: both volumes stay.
      await kubectl(ctx, "delete", "namespace", ns, "--wait=false");
      await waitFor(
        "the namespace to be gone",
        async () => !(await getJson("namespace", undefined, ns)),
        120_000,
      );
      for (const pv of [data, backup]) {
        const o = await getJson("pv", undefined, pv);
        assert(o && !o.metadata.deletionTimestamp, `${pv} kept`);
      }
      // Re-created: the kept data volume is taken back; then a normal deletion backs up and only then lets it go.
      await kubectl(ctx, "create", "namespace", ns);
      await kubectlApply(ctx, await courseObject(ns, { storageClassName: storageClass }));
      const again = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True", undefined, 120_000);
      assertEquals(again.status?.restore?.result, "KeptData");
      assertEquals(again.status?.dataVolumeName, data);
      await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
      await waitFor(
        "the object to be gone",
        async () => !(await getMySQL(ctx, ns, "mysql-instance")),
        120_000,
      )
        .catch(async (err) => {
          console.error(JSON.stringify((await getMySQL(ctx, ns, "mysql-instance"))?.status, null, 1));
          console.error(await kubectl(ctx, "get", "pvc,jobs,pods", "-n", ns, "-o", "wide"));
          console.error(await kubectl(ctx, "get", "pv", ...pvs, "-o", "wide"));
          throw err;
        });
      const events = await eventsOf(ctx, ns, "mysql-instance");
      assert(
        events.some((e) => e.reason === "BackupSucceeded" && /final/.test(e.message)),
        JSON.stringify(events),
      );
      const after = await getJson("pv", undefined, data);
      assert(
        !after || after.spec.persistentVolumeReclaimPolicy === "Delete",
        "the data volume handed back to Delete",
      );
      // pvc-protection holds the deleted claim until the garbage collector has removed mysqld's pod.
      await waitFor("the data claim to go", async () => !(await getJson("pvc", ns, "mysql-instance-data")));
      const kept = await getJson("pv", undefined, backup);
      assertEquals(kept?.spec.persistentVolumeReclaimPolicy, "Retain", "the backup volume stays");
    });
  } finally {
    if (pvs.length) await kubectl(ctx, "delete", "pv", ...pvs, "--ignore-not-found", "--wait=false");
    await kubectl(ctx, "delete", "storageclass", storageClass, "--ignore-not-found");
  }
});

Deno.test("a data claim another controller adopted (controller ownerReference) is never deleted, nor its volume, even with skip-final-backup (kubectl patch pvc ownerReferences; kubectl annotate skip-final-backup; kubectl delete mysql)", async () => {
  await withOperator("adv-adopted", async (ns) => {
    await kubectlApply(ctx, await courseObject(ns));
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const names = childNames({ namespace: ns, name: "mysql-instance", uid: ready.metadata.uid });
    // Another app adopts the claim: a ConfigMap stands in for its controller object.
    const owner = await applyObject(ctx, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "adopter", namespace: ns },
    });
    await kubectl(
      ctx,
      "patch",
      "pvc",
      names.dataPVC,
      "-n",
      ns,
      "--type=merge",
      "-p",
      JSON.stringify({
        metadata: {
          ownerReferences: [{
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "adopter",
            uid: (owner as Obj).metadata.uid,
            controller: true,
          }],
        },
      }),
    );
    const claimUid = (await getJson("pvc", ns, names.dataPVC)).metadata.uid;
    const pvUid = (await getJson("pv", undefined, names.dataPV)).metadata.uid;
    await kubectl(
      ctx,
      "annotate",
      "mysql",
      "mysql-instance",
      "-n",
      ns,
      "otus.homework/skip-final-backup=true",
    );
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false");
    await waitFor(
      "the MySQL object to be gone",
      async () => !(await getMySQL(ctx, ns, "mysql-instance")),
      60_000,
    );
    const claim = await getJson("pvc", ns, names.dataPVC);
    assert(claim && !claim.metadata.deletionTimestamp, "the adopted claim is not deleted");
    assertEquals(claim.metadata.uid, claimUid);
    const pv = await getJson("pv", undefined, names.dataPV);
    assert(pv && !pv.metadata.deletionTimestamp, "its volume is not deleted");
    assertEquals(pv.metadata.uid, pvUid);
  });
});

Deno.test("an object deleted without the operator (finalizer removed by hand) leaves its data claim, and the re-created object takes that data back instead of starting empty (kubectl patch mysql finalizers=null; kubectl delete mysql; kubectl apply)", async () => {
  await withOperatorIn({ kubeconfig, context: ctx, prefix: "adv-stripped" }, async (ns, op, restart) => {
    await kubectlApply(ctx, await courseObject(ns));
    const ready = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True");
    const names = childNames({ namespace: ns, name: "mysql-instance", uid: ready.metadata.uid });
    const pv = await getJson("pv", undefined, names.dataPV);
    await op().kill(); // no operator: nothing re-adds the finalizer or takes a final backup
    await dropFinalizers(ctx, "mysql/mysql-instance", ns);
    await kubectl(ctx, "delete", "mysql", "mysql-instance", "-n", ns);
    await kubectlApply(ctx, await courseObject(ns));
    await restart();
    const again = await waitCondition(ctx, ns, "mysql-instance", "Ready", "True", undefined, 120_000);
    assert(again.metadata.uid !== ready.metadata.uid, "a new incarnation");
    assertEquals(again.status?.restore?.result, "KeptData");
    assertEquals(again.status?.dataVolumeName, names.dataPV);
    const claim = await getJson("pvc", ns, names.dataPVC);
    assertEquals(claim.spec.volumeName, names.dataPV, "the claim still holds the same volume");
    assertEquals((await getJson("pv", undefined, names.dataPV))?.metadata.uid, pv.metadata.uid);
    const newPV = childNames({ namespace: ns, name: "mysql-instance", uid: again.metadata.uid }).dataPV;
    assert(!(await getJson("pv", undefined, newPV)), "no second, empty data volume was made");
  });
});

import { deepStrictEqual, equal, notEqual, ok } from "node:assert/strict";
import { childNames } from "./names.ts";
import {
  childLabels,
  INSTANCE_ANNOTATION,
  NAME_LABEL,
  NAMESPACE_LABEL,
  OWNER_UID_ANNOTATION,
} from "./labels.ts";
import { renderBackupPV, renderBackupPVC, renderDataPV, renderDataPVC } from "./volumes.ts";
import { DEFAULT_RENDER_OPTIONS } from "./options.ts";
import { mysqlObject } from "./testing.ts";

const opts = DEFAULT_RENDER_OPTIONS;

Deno.test('without storageClassName: a hostPath data PV bound by volumeName with class "" on both sides', () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db", spec: { storage_size: "3Gi" } });
  const names = childNames(mysql.metadata);
  const pv = renderDataPV(mysql, opts);
  ok(pv);
  equal(pv.metadata.name, names.dataPV);
  equal(pv.metadata.namespace, undefined);
  equal(pv.metadata.ownerReferences, undefined);
  deepStrictEqual(pv.spec, {
    claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "ns1", name: names.dataPVC },
    capacity: { storage: "3Gi" },
    accessModes: ["ReadWriteOnce"],
    persistentVolumeReclaimPolicy: "Retain",
    storageClassName: "",
    volumeMode: "Filesystem",
    hostPath: { path: `/tmp/hostpath_pv/${names.dataPV}`, type: "DirectoryOrCreate" },
  });
  deepStrictEqual(pv.metadata.labels, {
    ...childLabels(mysql.metadata, "data"),
    [NAMESPACE_LABEL]: "ns1",
    [NAME_LABEL]: "db",
  });
  ok(!("nodeAffinity" in pv.spec));
  ok(
    !("uid" in pv.spec.claimRef!),
    "pre-bound by namespace and name only: the PV controller fills in the UID",
  );
  deepStrictEqual(pv.metadata.annotations, {
    [INSTANCE_ANNOTATION]: "ns1/db",
    [OWNER_UID_ANNOTATION]: mysql.metadata.uid,
  });

  const pvc = renderDataPVC(mysql, opts);
  equal(pvc.metadata.name, names.dataPVC);
  equal(pvc.metadata.namespace, "ns1");
  equal(pvc.spec.volumeName, pv.metadata.name);
  equal(pvc.spec.storageClassName, "");
  deepStrictEqual(pvc.spec.accessModes, pv.spec.accessModes);
  equal(pvc.spec.resources.requests.storage, "3Gi");
  equal(
    pvc.metadata.ownerReferences,
    undefined,
    "the data claim is deleted by the operator after the final backup",
  );
});

Deno.test("with storageClassName: no data PV, the PVC asks the class and names no volume", () => {
  const mysql = mysqlObject({ spec: { storageClassName: "fast" } });
  equal(renderDataPV(mysql, opts), undefined);
  const pvc = renderDataPVC(mysql, opts);
  equal(pvc.spec.storageClassName, "fast");
  ok(!("volumeName" in pvc.spec));
  // The backup volume follows spec.storageClassName too.
  equal(renderBackupPV(mysql, opts), undefined);
  equal(renderBackupPVC(mysql, opts).spec.storageClassName, "fast");
});

Deno.test("backup volume: 1Gi hostPath by default, spec.backup overrides size and class, never owned", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const names = childNames(mysql.metadata);
  const pv = renderBackupPV(mysql, opts);
  ok(pv);
  equal(pv.metadata.name, names.backupPV);
  equal(pv.spec.capacity.storage, "1Gi");
  equal(pv.spec.hostPath.path, `/tmp/hostpath_pv/${names.backupPV}`);
  equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
  equal(pv.metadata.labels?.[NAMESPACE_LABEL], "ns1");
  const pvc = renderBackupPVC(mysql, opts);
  equal(pvc.metadata.name, names.backupPVC);
  equal(pvc.metadata.namespace, "ns1");
  equal(pvc.metadata.ownerReferences, undefined);
  deepStrictEqual(pvc.metadata.labels, childLabels(mysql.metadata, "backup"));
  equal(pvc.spec.volumeName, pv.metadata.name);
  equal(pvc.spec.storageClassName, "");

  const sized = mysqlObject({ spec: { backup: { storage_size: "5Gi" } } });
  equal(renderBackupPV(sized, opts)?.spec.capacity.storage, "5Gi");
  equal(renderBackupPVC(sized, opts).spec.resources.requests.storage, "5Gi");

  // A backup class of its own wins over the data class; the data volume keeps the hostPath rule.
  const classed = mysqlObject({ spec: { backup: { storageClassName: "nfs" } } });
  equal(renderBackupPV(classed, opts), undefined);
  equal(renderBackupPVC(classed, opts).spec.storageClassName, "nfs");
  ok(renderDataPV(classed, opts));
});

Deno.test("hostPathRoot comes from the options", () => {
  const mysql = mysqlObject();
  const pv = renderDataPV(mysql, { hostPathRoot: "/var/lib/mysql-operator/" });
  equal(pv?.spec.hostPath.path, `/var/lib/mysql-operator/${childNames(mysql.metadata).dataPV}`);
});

Deno.test("data PV is per incarnation, backup PV is shared by incarnations", () => {
  const first = mysqlObject({ uid: "uid-1" });
  const second = mysqlObject({ uid: "uid-2" });
  notEqual(renderDataPV(first, opts)?.metadata.name, renderDataPV(second, opts)?.metadata.name);
  notEqual(renderDataPV(first, opts)?.spec.hostPath.path, renderDataPV(second, opts)?.spec.hostPath.path);
  equal(renderBackupPV(first, opts)?.metadata.name, renderBackupPV(second, opts)?.metadata.name);
  equal(renderBackupPVC(first, opts).metadata.name, renderBackupPVC(second, opts).metadata.name);
});

Deno.test("PV names and paths differ for the same name in two namespaces", () => {
  const a = mysqlObject({ namespace: "a", uid: "same" });
  const b = mysqlObject({ namespace: "b", uid: "same" });
  for (const render of [renderDataPV, renderBackupPV]) {
    notEqual(render(a, opts)?.metadata.name, render(b, opts)?.metadata.name);
    notEqual(render(a, opts)?.spec.hostPath.path, render(b, opts)?.spec.hostPath.path);
  }
});

Deno.test("claims and volumes carry ownership annotations; the backup ones name no UID (every incarnation uses them)", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const uid = mysql.metadata.uid;
  deepStrictEqual(renderDataPVC(mysql, opts).metadata.annotations, {
    [INSTANCE_ANNOTATION]: "ns1/db",
    [OWNER_UID_ANNOTATION]: uid,
  });
  deepStrictEqual(renderBackupPVC(mysql, opts).metadata.annotations, { [INSTANCE_ANNOTATION]: "ns1/db" });
  deepStrictEqual(renderBackupPV(mysql, opts)!.metadata.annotations, { [INSTANCE_ANNOTATION]: "ns1/db" });
  equal(renderBackupPV(mysql, opts)!.spec.claimRef!.name, childNames(mysql.metadata).backupPVC);
});

Deno.test("a data volume named in status (kept from an earlier incarnation, or provisioned) is the one claimed", () => {
  const kept = mysqlObject({ namespace: "ns1", name: "db" });
  kept.status = { dataVolumeName: "mysql-db-data-0123456789" };
  equal(renderDataPVC(kept, opts).spec.volumeName, "mysql-db-data-0123456789");
  equal(renderDataPV(kept, opts)!.metadata.name, "mysql-db-data-0123456789");
  const provisioned = mysqlObject({ spec: { storageClassName: "fast" } });
  provisioned.status = { dataVolumeName: "pvc-1234" };
  equal(renderDataPVC(provisioned, opts).spec.volumeName, "pvc-1234");
  equal(renderDataPV(provisioned, opts), undefined);
});

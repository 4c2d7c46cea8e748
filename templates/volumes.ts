/**
 * Data and backup volumes of an instance.
 *
 * Storage rule: without a storage class the operator makes a hostPath PV (reclaim Retain, class `""`) and the PVC
 * binds it by `volumeName` with `storageClassName: ""` stated explicitly, so a default StorageClass is never
 * injected and the claim binds on any cluster. With a storage class no PV is made and the claim asks that class.
 *
 * The PVs are pre-bound: created with a `claimRef` naming their claim (namespace and name, no UID), so no other
 * claim can take one. They are created once and never re-applied: the PV controller completes that atomic field
 * when it binds, and re-applying our version of it would drop the claim's UID and mark the claim Lost.
 *
 * Claims and volumes carry no owner reference (no garbage collection may take data): they carry ownership
 * annotations instead (templates/labels.ts), which the operator checks before it writes or deletes one.
 *
 * @module
 */
import { DEFAULT_BACKUP_STORAGE_SIZE, type MySQL } from "../api/mysql.ts";
import { childNames } from "./names.ts";
import { childLabels, ownershipAnnotations, pvLabels } from "./labels.ts";
import { childMeta, objectRef } from "./owner.ts";
import type { RenderOptions } from "./options.ts";
import type { PersistentVolume, PersistentVolumeClaim } from "./k8s_types.ts";

/** Mount path of the backup volume in Jobs (`BACKUP_DIR`). */
export const BACKUP_MOUNT_PATH = "/backup";

/** Storage class of the data volume; `undefined` means an operator-made hostPath PV. */
export function dataStorageClass(mysql: MySQL): string | undefined {
  return nonEmpty(mysql.spec.storageClassName);
}

/** Storage class of the backup volume (`spec.backup.storageClassName ?? spec.storageClassName`). */
export function backupStorageClass(mysql: MySQL): string | undefined {
  return nonEmpty(mysql.spec.backup?.storageClassName) ?? dataStorageClass(mysql);
}

/** Size of the backup volume (`spec.backup.storage_size`, default 1Gi). */
export function backupStorageSize(mysql: MySQL): string {
  return mysql.spec.backup?.storage_size ?? DEFAULT_BACKUP_STORAGE_SIZE;
}

/** Node path of an operator-made hostPath PV. */
export function hostPathOf(opts: RenderOptions, pvName: string): string {
  return `${opts.hostPathRoot.replace(/\/+$/, "")}/${pvName}`;
}

/**
 * Name of the data volume: the one status records (a volume kept from an earlier incarnation, or the one a storage
 * class provisioned), else this incarnation's hostPath PV (`undefined` with a storage class, before it bound).
 */
export function dataVolumeName(mysql: MySQL): string | undefined {
  return mysql.status?.dataVolumeName ??
    (dataStorageClass(mysql) === undefined ? childNames(objectRef(mysql)).dataPV : undefined);
}

/**
 * The hostPath PV of the data volume, or `undefined` when `spec.storageClassName` is set. Its name (and so its
 * directory) is per incarnation: a re-created object starts on an empty datadir with its new password and gets
 * its data back from the restore, unless status names a volume kept from an earlier incarnation.
 */
export function renderDataPV(mysql: MySQL, opts: RenderOptions): PersistentVolume | undefined {
  if (dataStorageClass(mysql) !== undefined) return undefined;
  const ref = objectRef(mysql);
  const names = childNames(ref);
  return hostPathPV(
    dataVolumeName(mysql) ?? names.dataPV,
    pvLabels(ref, "data"),
    ownershipAnnotations(ref, true),
    { namespace: ref.namespace, name: names.dataPVC },
    mysql.spec.storage_size,
    opts,
  );
}

/**
 * The data PVC. Not owned: no garbage collection (a foreground cascading deletion included) can take the data
 * before the final backup; the operator deletes it itself once that backup succeeded.
 */
export function renderDataPVC(mysql: MySQL, _opts: RenderOptions): PersistentVolumeClaim {
  const ref = objectRef(mysql);
  const names = childNames(ref);
  const storageClass = dataStorageClass(mysql);
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      ...childMeta(mysql, names.dataPVC, childLabels(ref, "data"), false),
      annotations: ownershipAnnotations(ref, true),
    },
    spec: claimSpec(mysql.spec.storage_size, storageClass, dataVolumeName(mysql)),
  };
}

/**
 * The hostPath PV of the backup volume, or `undefined` when a storage class applies. One per namespace/name,
 * shared by every incarnation, never deleted by the operator.
 */
export function renderBackupPV(mysql: MySQL, opts: RenderOptions): PersistentVolume | undefined {
  if (backupStorageClass(mysql) !== undefined) return undefined;
  const ref = objectRef(mysql);
  const names = childNames(ref);
  return hostPathPV(
    names.backupPV,
    pvLabels(ref, "backup"),
    ownershipAnnotations(ref, false),
    { namespace: ref.namespace, name: names.backupPVC },
    backupStorageSize(mysql),
    opts,
  );
}

/** The backup PVC. It has NO owner reference: backups must outlive the object so a re-created one restores. */
export function renderBackupPVC(mysql: MySQL, _opts: RenderOptions): PersistentVolumeClaim {
  const ref = objectRef(mysql);
  const names = childNames(ref);
  const storageClass = backupStorageClass(mysql);
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      ...childMeta(mysql, names.backupPVC, childLabels(ref, "backup"), false),
      annotations: ownershipAnnotations(ref, false),
    },
    spec: claimSpec(
      backupStorageSize(mysql),
      storageClass,
      storageClass === undefined ? names.backupPV : mysql.status?.backupVolumeName,
    ),
  };
}

function hostPathPV(
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  claim: { namespace: string; name: string },
  size: string,
  opts: RenderOptions,
): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels, annotations },
    spec: {
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", ...claim },
      capacity: { storage: size },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      volumeMode: "Filesystem",
      hostPath: { path: hostPathOf(opts, name), type: "DirectoryOrCreate" },
    },
  };
}

function claimSpec(
  size: string,
  storageClass: string | undefined,
  volumeName: string | undefined,
): PersistentVolumeClaim["spec"] {
  const spec: PersistentVolumeClaim["spec"] = {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: size } },
    storageClassName: storageClass ?? "",
    volumeMode: "Filesystem",
  };
  if (volumeName !== undefined) spec.volumeName = volumeName;
  return spec;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

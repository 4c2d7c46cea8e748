/**
 * What the children of a MySQL object are (rendered once, here, for the reconcile and for `mysql-operator diff`),
 * and, as pure functions of the object and its observed children, what a pass would do to each of them and which
 * steps are destructive. The reconcile writes through children.ts (whose `childWrite` decides the same create /
 * apply / nothing); `diff` prints these steps without writing. One copy of the logic for both.
 *
 * @module
 */
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import {
  objectRef,
  renderBackupPV,
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
  renderDeployment,
  renderSecret,
  renderService,
} from "../templates/mod.ts";
import type { RenderOptions } from "../templates/options.ts";
import { childNames } from "../templates/names.ts";
import { childWrite } from "./children.ts";
import { isSubset, sameQuantity } from "./drift.ts";
import type { ObservedChild, ObservedChildren } from "./observe.ts";

/** A rendered child and whether a pass changes it once it exists (volumes: created once, never changed). */
export interface RenderedChild {
  desired: KubeObject;
  mutable: boolean;
}

/** Every child of an object, rendered, under the keys of {@linkcode ObservedChildren}. */
export type RenderedChildren = Partial<Record<keyof ObservedChildren, RenderedChild>>;

/** The children a pass makes the cluster hold for `obj` (no Secret without `spec.password`; PVs where made here). */
export function renderChildren(obj: MySQL, opts: RenderOptions): RenderedChildren {
  const fixed = (desired: KubeObject | undefined) => desired && { desired, mutable: false };
  const kept = (desired: KubeObject | undefined) => desired && { desired, mutable: true };
  const out: RenderedChildren = {
    secret: kept(renderSecret(obj)),
    dataPV: fixed(renderDataPV(obj, opts)),
    dataPVC: fixed(renderDataPVC(obj, opts)),
    backupPV: fixed(renderBackupPV(obj, opts)),
    backupPVC: fixed(renderBackupPVC(obj, opts)),
    service: kept(renderService(obj)),
    deployment: kept(renderDeployment(obj, opts)),
  };
  for (const k of Object.keys(out) as Array<keyof RenderedChildren>) if (!out[k]) delete out[k];
  return out;
}

/** `spec.storage_size` and the existing data claim's size, when they differ (an existing volume is never resized). */
export function storageMismatch(
  obj: MySQL,
  claim: KubeObject | undefined,
): { want: string; have: string } | undefined {
  const want = obj.spec.storage_size;
  const have = claim?.spec?.resources?.requests?.storage;
  return claim && want && have && !sameQuantity(want, String(have))
    ? { want, have: String(have) }
    : undefined;
}

/** One step of a plan. */
export interface ChildStep {
  kind: string;
  /** The child's name; PVs by role (their names carry the object's UID, different in every cluster). */
  name: string;
  step: "create" | "update" | "unchanged" | "blocked" | "delete" | "keep";
  /** Why it matters; `destructive` steps lose availability or data. */
  notes: string[];
  destructive: boolean;
}

const label = (c: ObservedChild | undefined, kind: string, fallback: string) =>
  kind === "PersistentVolume" ? `(${c?.role === "backup" ? "backup" : "data"} volume)` : c?.name ?? fallback;

/** What a pass would do to each child of a live (not deleting) object. */
export function planChildren(obj: MySQL, rendered: RenderedChildren, seen: ObservedChildren): ChildStep[] {
  const steps: ChildStep[] = [];
  for (const key of Object.keys(rendered) as Array<keyof RenderedChildren>) {
    const r = rendered[key]!;
    const c = seen[key];
    const kind = r.desired.kind!;
    const name = label(c, kind, r.desired.metadata!.name!);
    if (c?.owner === "foreign") {
      steps.push({
        kind,
        name,
        step: "blocked",
        notes: ["the name is held by another app's object: nothing is written (NameConflict)"],
        destructive: false,
      });
      continue;
    }
    const write = childWrite(r.desired, c?.obj, r.mutable);
    const notes: string[] = [];
    let destructive = false;
    if (
      key === "deployment" && write === "apply" && !isSubset(r.desired.spec?.template, c?.obj?.spec?.template)
    ) {
      notes.push(
        "mysqld restarts: the pod template changes and the strategy is Recreate (stopped, then started)",
      );
      destructive = true;
    }
    const size = key === "dataPVC" ? storageMismatch(obj, c?.obj) : undefined;
    if (size) {
      notes.push(
        `storage ${size.have} → ${size.want} is not done: an existing volume is never resized (StorageResized=False)`,
      );
    }
    steps.push({
      kind,
      name,
      step: write === "create" ? "create" : write === "apply" ? "update" : "unchanged",
      notes,
      destructive,
    });
  }
  return steps;
}

/** What deleting the object does to its data: the final backup first (unless skipped), then the data goes. */
export function planDeletion(obj: MySQL, seen: ObservedChildren): ChildStep[] {
  const names = childNames(objectRef(obj));
  const skip = obj.metadata.annotations?.[ANNOTATIONS.skipFinalBackup] === "true";
  const ours = (c: ObservedChild | undefined) => c?.obj !== undefined && c.owner !== "foreign";
  const steps: ChildStep[] = [{
    kind: "Job",
    name: "final backup",
    step: skip ? "keep" : "create",
    notes: [
      skip
        ? `no final backup: ${ANNOTATIONS.skipFinalBackup}=true (the data is lost)`
        : `the final backup of ${obj.metadata.namespace}/${obj.metadata.name} to claim ${names.backupPVC}, taken ` +
          "read-only; the data goes only after it is verified",
    ],
    destructive: skip,
  }];
  for (const key of ["dataPVC", "dataPV"] as const) {
    const c = seen[key];
    if (!ours(c)) continue;
    steps.push({
      kind: c!.kind,
      name: label(c, c!.kind, c!.name),
      step: "delete",
      notes: [skip ? "deleted without a backup" : "deleted after the verified final backup"],
      destructive: true,
    });
  }
  for (const key of ["backupPVC", "backupPV"] as const) {
    const c = seen[key];
    if (!ours(c)) continue;
    steps.push({
      kind: c!.kind,
      name: label(c, c!.kind, c!.name),
      step: "keep",
      notes: ["backups stay (the next instance of this name restores from them)"],
      destructive: false,
    });
  }
  return steps;
}

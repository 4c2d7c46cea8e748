/** What a pass would do to each child, and what deleting does to the data, as a table of observed states. */
import { deepStrictEqual } from "node:assert/strict";
import type { MySQL } from "../api/mysql.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { DEFAULT_RENDER_OPTIONS } from "../templates/options.ts";
import { mysqlObject } from "../templates/testing.ts";
import { type ChildStep, planChildren, planDeletion, renderChildren } from "./child_plan.ts";
import type { ObservedChild, ObservedChildren } from "./observe.ts";
import { type ChildRole, ownership } from "./ownership.ts";

const OPTS = DEFAULT_RENDER_OPTIONS;

/** The children as a pass would observe them when the cluster holds `live` (by key). */
function observe(obj: MySQL, live: Partial<Record<keyof ObservedChildren, KubeObject>>): ObservedChildren {
  const rendered = renderChildren(obj, OPTS);
  const role = (k: string): ChildRole =>
    k.startsWith("data") ? "data" : k.startsWith("backup") ? "backup" : "owned";
  const one = (k: keyof ObservedChildren): ObservedChild => {
    const r = rendered[k]!;
    return {
      kind: r.desired.kind!,
      name: r.desired.metadata!.name!,
      role: role(k),
      obj: live[k],
      owner: ownership(obj, role(k), live[k]),
    };
  };
  const keys = Object.keys(rendered) as Array<keyof ObservedChildren>;
  return Object.fromEntries(keys.map((k) => [k, one(k)])) as unknown as ObservedChildren;
}

/** What the cluster holds after a pass for `obj` (each rendered child, as the API server would keep it). */
function made(obj: MySQL): Partial<Record<keyof ObservedChildren, KubeObject>> {
  const rendered = renderChildren(obj, OPTS);
  return Object.fromEntries(Object.entries(rendered).map(([k, r]) => [k, structuredClone(r!.desired)]));
}

const summary = (steps: ChildStep[]) =>
  steps.map((s) => `${s.kind} ${s.name}: ${s.step}${s.destructive ? " !" : ""}${s.notes.length ? " *" : ""}`);

Deno.test("plan: a new object creates every child; nothing destructive", () => {
  const obj = mysqlObject();
  deepStrictEqual(summary(planChildren(obj, renderChildren(obj, OPTS), observe(obj, {}))), [
    "Secret mysql-instance-credentials: create",
    "PersistentVolume (data volume): create",
    "PersistentVolumeClaim mysql-instance-data: create",
    "PersistentVolume (backup volume): create",
    "PersistentVolumeClaim mysql-instance-backup: create",
    "Service mysql-instance: create",
    "Deployment mysql-instance: create",
  ]);
});

Deno.test("plan: the same spec again changes nothing", () => {
  const obj = mysqlObject();
  const steps = planChildren(obj, renderChildren(obj, OPTS), observe(obj, made(obj)));
  deepStrictEqual(steps.filter((s) => s.step !== "unchanged"), []);
});

Deno.test("plan: an image change updates the Deployment and restarts mysqld (flagged destructive)", () => {
  const before = mysqlObject();
  const after = mysqlObject({ spec: { image: "mysql:8.0" } });
  const steps = planChildren(after, renderChildren(after, OPTS), observe(after, made(before)));
  const changed = steps.filter((s) => s.step !== "unchanged");
  deepStrictEqual(summary(changed), ["Deployment mysql-instance: update ! *"]);
  deepStrictEqual(changed[0].notes[0].startsWith("mysqld restarts"), true);
});

Deno.test("plan: a storage increase is flagged as not done (an existing volume is never resized)", () => {
  const before = mysqlObject();
  const after = mysqlObject({ spec: { storage_size: "2Gi" } });
  const steps = planChildren(after, renderChildren(after, OPTS), observe(after, made(before)));
  const claim = steps.find((s) => s.name === "mysql-instance-data")!;
  deepStrictEqual([claim.step, claim.destructive], ["unchanged", false]);
  deepStrictEqual(claim.notes, [
    "storage 1Gi → 2Gi is not done: an existing volume is never resized (StorageResized=False)",
  ]);
});

Deno.test("plan: a child's name held by another app is blocked, never written", () => {
  const obj = mysqlObject();
  const foreign = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "mysql-instance", namespace: "default" },
  };
  const steps = planChildren(
    obj,
    renderChildren(obj, OPTS),
    observe(obj, { ...made(obj), service: foreign }),
  );
  deepStrictEqual(summary(steps.filter((s) => s.step !== "unchanged")), [
    "Service mysql-instance: blocked *",
  ]);
});

Deno.test("plan: deleting takes the final backup, then deletes the data, keeps the backups; skip says the data is lost", () => {
  const obj = mysqlObject();
  deepStrictEqual(summary(planDeletion(obj, observe(obj, made(obj)))), [
    "Job final backup: create *",
    "PersistentVolumeClaim mysql-instance-data: delete ! *",
    "PersistentVolume (data volume): delete ! *",
    "PersistentVolumeClaim mysql-instance-backup: keep *",
    "PersistentVolume (backup volume): keep *",
  ]);
  const skip = {
    ...obj,
    metadata: { ...obj.metadata, annotations: { [ANNOTATIONS.skipFinalBackup]: "true" } },
  };
  const steps = planDeletion(skip, observe(skip, made(skip)));
  deepStrictEqual(summary(steps).slice(0, 2), [
    "Job final backup: keep ! *",
    "PersistentVolumeClaim mysql-instance-data: delete ! *",
  ]);
  // Nothing there: nothing to delete.
  deepStrictEqual(summary(planDeletion(obj, observe(obj, {}))), ["Job final backup: create *"]);
});

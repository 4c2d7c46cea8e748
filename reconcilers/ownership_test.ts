import { equal, match } from "node:assert/strict";
import { conflictMessage, type Ownership, ownership } from "./ownership.ts";
import { mysqlObject } from "../templates/testing.ts";
import { DEFAULT_RENDER_OPTIONS } from "../templates/options.ts";
import {
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
  renderDeployment,
  renderService,
} from "../templates/mod.ts";
import { childLabels, INSTANCE_ANNOTATION, OWNER_UID_ANNOTATION, pvLabels } from "../templates/labels.ts";
import type { KubeObject } from "../runtime/kube/client.ts";

const opts = DEFAULT_RENDER_OPTIONS;
const mysql = mysqlObject({ namespace: "shop", name: "api", uid: "uid-now" });
const ref = { namespace: "shop", name: "api" };
const as = (o: unknown) => structuredClone(o) as KubeObject;
const foreignApp = (kind: string, name: string, labels: Record<string, string> = { app: "api" }) =>
  as({ apiVersion: "v1", kind, metadata: { name, namespace: "shop", uid: "their-uid", labels } });
const withMeta = (o: KubeObject, meta: Record<string, unknown>) => {
  const c = as(o);
  c.metadata = { ...c.metadata, ...meta };
  return c;
};
const controllerRef = (
  uid: string,
) => [{ apiVersion: "apps/v1", kind: "X", name: "x", uid, controller: true }];

const table: Array<[string, "owned" | "data" | "backup", KubeObject | undefined, Ownership]> = [
  ["no object", "owned", undefined, "absent"],
  ["our Deployment (controller ref with our UID)", "owned", as(renderDeployment(mysql, opts)), "ours"],
  ["our Service", "owned", as(renderService(mysql)), "ours"],
  ["another app's Deployment of the same name", "owned", foreignApp("Deployment", "api"), "foreign"],
  [
    "another app's Service carrying our labels (labels prove nothing)",
    "owned",
    foreignApp("Service", "api", childLabels(ref, "database")),
    "foreign",
  ],
  [
    "a Deployment of an earlier incarnation (controller ref to an old UID)",
    "owned",
    withMeta(as(renderDeployment(mysql, opts)), { ownerReferences: controllerRef("uid-before") }),
    "foreign",
  ],
  ["our data claim", "data", as(renderDataPVC(mysql, opts)), "ours"],
  [
    "our data claim relabelled by a GitOps tool",
    "data",
    withMeta(as(renderDataPVC(mysql, opts)), { labels: { "app.kubernetes.io/managed-by": "argocd" } }),
    "ours",
  ],
  [
    "our data claim adopted by another controller (controller ref)",
    "data",
    withMeta(as(renderDataPVC(mysql, opts)), { ownerReferences: controllerRef("argo-app") }),
    "foreign",
  ],
  [
    "the data claim of an earlier incarnation (annotated with its UID)",
    "data",
    withMeta(as(renderDataPVC(mysql, opts)), {
      annotations: { [INSTANCE_ANNOTATION]: "shop/api", [OWNER_UID_ANNOTATION]: "uid-before" },
    }),
    "foreign",
  ],
  [
    "a data claim annotated for another instance",
    "data",
    withMeta(as(renderDataPVC(mysql, opts)), {
      annotations: { [INSTANCE_ANNOTATION]: "shop/other", [OWNER_UID_ANNOTATION]: "uid-now" },
    }),
    "foreign",
  ],
  ["another app's claim api-data", "data", foreignApp("PersistentVolumeClaim", "api-data"), "foreign"],
  [
    "a data claim made before ownership annotations (every label we set, no annotation)",
    "data",
    withMeta(as(renderDataPVC(mysql, opts)), { annotations: undefined }),
    "legacy",
  ],
  [
    "a legacy data volume (PV labels name namespace and name)",
    "data",
    withMeta(as(renderDataPV(mysql, opts)), { annotations: undefined, labels: pvLabels(ref, "data") }),
    "legacy",
  ],
  [
    "a PV with our labels for another namespace",
    "data",
    withMeta(as(renderDataPV(mysql, opts)), {
      annotations: undefined,
      labels: pvLabels({ namespace: "other", name: "api" }, "data"),
    }),
    "foreign",
  ],
  [
    "the backup claim made by an earlier incarnation (no UID needed)",
    "backup",
    withMeta(as(renderBackupPVC(mysql, opts)), { annotations: { [INSTANCE_ANNOTATION]: "shop/api" } }),
    "ours",
  ],
  ["another app's claim api-backup", "backup", foreignApp("PersistentVolumeClaim", "api-backup"), "foreign"],
];

for (const [name, role, live, want] of table) {
  Deno.test(`ownership: ${name} → ${want}`, () => equal(ownership(mysql, role, live), want));
}

Deno.test("conflictMessage names every object in the way and says nothing was written", () => {
  const one = conflictMessage([{ kind: "Secret", name: "api-credentials" }]);
  match(one, /^Secret api-credentials already exists and is not this MySQL's/);
  match(one, /writes and deletes nothing/);
  match(
    conflictMessage([{ kind: "Service", name: "api" }, { kind: "Deployment", name: "api" }]),
    /Service api, Deployment api already exist and are/,
  );
});

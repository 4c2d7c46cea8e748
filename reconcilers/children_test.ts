/** What a child needs, as a table: absent → create; ours and drifted → apply (mutable kinds only); else nothing. */
import { deepStrictEqual } from "node:assert/strict";
import type { KubeObject } from "../runtime/kube/client.ts";
import {
  type ChildWrite,
  childWrite,
  claimsToWaitFor,
  deploymentFromCache,
  type PodClaim,
} from "./children.ts";

const desired: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "db", namespace: "ns", labels: { app: "db" } },
  spec: { ports: [{ port: 3306 }] },
};
const same: KubeObject = {
  ...structuredClone(desired),
  metadata: { ...desired.metadata, uid: "u", resourceVersion: "7", labels: { app: "db", extra: "x" } },
  spec: { ports: [{ port: 3306, protocol: "TCP" }], clusterIP: "10.0.0.1" },
  status: {},
};
const drifted: KubeObject = { ...structuredClone(same), spec: { ports: [{ port: 3307 }] } };
const relabelled: KubeObject = {
  ...structuredClone(same),
  metadata: { ...same.metadata, labels: { app: "other" } },
};

const ROWS: Array<[string, KubeObject | undefined, boolean, ChildWrite]> = [
  ["absent: created", undefined, true, "create"],
  ["absent volume: created", undefined, false, "create"],
  ["as desired, with fields the server added: nothing", same, true, "none"],
  ["a field we set was edited: applied back", drifted, true, "apply"],
  ["a label we set was changed: applied back", relabelled, true, "apply"],
  ["a volume that differs: never changed", drifted, false, "none"],
];

for (const [name, live, mutable, want] of ROWS) {
  Deno.test(`childWrite: ${name}`, () => deepStrictEqual(childWrite(desired, live, mutable), want));
}

const data = (phase?: string, ownVolume = true): PodClaim => ({ name: "data", ownVolume, phase });
const backup = (phase?: string, ownVolume = true): PodClaim => ({ name: "backup", ownVolume, phase });

const WAITS: Array<[string, boolean, PodClaim[], string[]]> = [
  ["own volumes, both claims just created: both waited for", false, [data("Pending"), backup("Pending")], [
    "data",
    "backup",
  ]],
  ["own volumes, a claim with no status yet: waited for", false, [data(), backup("Bound")], ["data"]],
  ["own volumes, both Bound: the Deployment is created", false, [data("Bound"), backup("Bound")], []],
  ["storage-class claims (maybe WaitForFirstConsumer): never waited for", false, [
    data("Pending", false),
    backup("Pending", false),
  ], []],
  ["own data volume, storage-class backup: only the data claim", false, [
    data("Pending"),
    backup("Pending", false),
  ], [
    "data",
  ]],
  ["the Deployment exists (a claim re-created by hand): nothing held back", true, [data("Pending")], []],
  ["a claim Lost: still waited for, never a pod on it", false, [data("Lost"), backup("Bound")], ["data"]],
];

for (const [name, exists, claims, want] of WAITS) {
  Deno.test(`claimsToWaitFor: ${name}`, () => deepStrictEqual(claimsToWaitFor(exists, claims), want));
}

const claimIn = (phase?: string): KubeObject => ({
  kind: "PersistentVolumeClaim",
  status: phase ? { phase } : {},
});
const FROM_CACHE: Array<[string, boolean, KubeObject | undefined, boolean]> = [
  ["first pass (no claim cached): every name read live", true, undefined, false],
  ["own volume, claim Pending: the Deployment waits, from the cache alone", true, claimIn("Pending"), true],
  ["own volume, claim without status yet: from the cache alone", true, claimIn(), true],
  [
    "own volume, claim Bound: the Deployment is about to be written, read live",
    true,
    claimIn("Bound"),
    false,
  ],
  ["storage-class volume (never waited for): read live", false, claimIn("Pending"), false],
];

for (const [name, own, claim, want] of FROM_CACHE) {
  Deno.test(`deploymentFromCache: ${name}`, () => deepStrictEqual(deploymentFromCache(own, claim), want));
}

import { assertEquals } from "../tests/_assert.ts";
import { passDue } from "./progress_due.ts";
import type { KubeObject } from "../runtime/kube/client.ts";

const available = {
  metadata: { generation: 2 },
  status: { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 1 },
};
const rolling = {
  metadata: { generation: 3 },
  status: { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 1 },
};
const starting = {
  metadata: { generation: 1 },
  status: { observedGeneration: 1, updatedReplicas: 1, availableReplicas: 0 },
};

Deno.test("passDue: a table of object and Deployment states", () => {
  const rows: Array<[string, KubeObject, KubeObject | undefined, boolean]> = [
    ["new, no status, no Deployment yet", { metadata: { generation: 1 } }, undefined, false],
    ["new, no status, Deployment Available", { metadata: { generation: 1 } }, available, true],
    [
      "Provisioning, Deployment starting",
      { metadata: { generation: 1 }, status: { phase: "Provisioning", observedGeneration: 1 } },
      starting,
      false,
    ],
    [
      "Provisioning, Deployment rolling out",
      { metadata: { generation: 1 }, status: { phase: "Provisioning", observedGeneration: 1 } },
      rolling,
      false,
    ],
    [
      "Provisioning, Deployment Available: owed a pass",
      { metadata: { generation: 1 }, status: { phase: "Provisioning", observedGeneration: 1 } },
      available,
      true,
    ],
    [
      "Ready",
      { metadata: { generation: 1 }, status: { phase: "Ready", observedGeneration: 1 } },
      available,
      false,
    ],
    [
      "Restoring (waits for its Job, not for a pass)",
      { metadata: { generation: 1 }, status: { phase: "Restoring", observedGeneration: 1 } },
      available,
      false,
    ],
    [
      "Failed",
      { metadata: { generation: 1 }, status: { phase: "Failed", observedGeneration: 1 } },
      undefined,
      false,
    ],
    [
      "Paused",
      { metadata: { generation: 1 }, status: { phase: "Paused", observedGeneration: 1 } },
      available,
      false,
    ],
    [
      "Ready, but its spec changed after the last pass",
      { metadata: { generation: 2 }, status: { phase: "Ready", observedGeneration: 1 } },
      available,
      true,
    ],
    [
      "being deleted",
      {
        metadata: { generation: 2, deletionTimestamp: "2026-12-04T00:00:00Z" },
        status: { phase: "Provisioning", observedGeneration: 1 },
      },
      available,
      false,
    ],
  ];
  for (const [what, obj, dep, want] of rows) assertEquals(passDue(obj, dep), want, what);
});

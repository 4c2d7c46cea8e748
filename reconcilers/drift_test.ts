import { assert } from "../tests/_assert.ts";
import { isSubset } from "./drift.ts";

Deno.test("isSubset ignores fields the server added", () => {
  const desired = { spec: { replicas: 1, template: { spec: { containers: [{ name: "m", image: "a" }] } } } };
  const live = {
    metadata: { uid: "u", managedFields: [] },
    spec: {
      replicas: 1,
      progressDeadlineSeconds: 600,
      template: { spec: { containers: [{ name: "m", image: "a", terminationMessagePath: "/dev/x" }] } },
    },
    status: { availableReplicas: 1 },
  };
  assert(isSubset(desired, live));
});

Deno.test("isSubset sees an edited field, a removed container and a changed list", () => {
  const desired = { spec: { template: { spec: { containers: [{ name: "m", image: "a" }] } } } };
  assert(!isSubset(desired, { spec: { template: { spec: { containers: [{ name: "m", image: "b" }] } } } }));
  assert(!isSubset(desired, { spec: { template: { spec: { containers: [] } } } }));
  assert(!isSubset(desired, { spec: {} }));
  assert(!isSubset({ a: ["x", "y"] }, { a: ["x"] }));
});

Deno.test("isSubset compares quantities by value", () => {
  assert(isSubset({ storage: "1Gi" }, { storage: "1024Mi" }));
  assert(isSubset({ cpu: "0.5" }, { cpu: "500m" }));
  assert(!isSubset({ storage: "1Gi" }, { storage: "2Gi" }));
  assert(!isSubset({ image: "mysql:5.7" }, { image: "mysql:8" }));
});

import { assert, assertEquals } from "../tests/_assert.ts";
import { isSubset, sameQuantity } from "./drift.ts";
import { PROJECTIONS } from "./mysql_cache.ts";
import { base64Utf8 } from "../templates/secret.ts";

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

Deno.test("isSubset compares Secrets by digest: the cache's projected Secret and a live read alike", () => {
  const owner = [{ apiVersion: "otus.homework/v1", kind: "MySQL", name: "m", uid: "u", controller: true }];
  const secret = (password: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "m-credentials", namespace: "ns", ownerReferences: owner },
    type: "Opaque",
    data: { password: base64Utf8(password) },
  });
  const desired = secret("otuspassword");
  const served = {
    ...secret("otuspassword"),
    metadata: { ...desired.metadata, uid: "s", resourceVersion: "7" },
  };
  const cached = PROJECTIONS.Secret(served);
  assert(!JSON.stringify(cached).includes(desired.data.password), "the cache holds no password");
  // Same password: no drift, whether the live object comes from the cache or from a live read.
  assert(isSubset(desired, cached));
  assert(isSubset(desired, served));
  // Password changed in the spec, or edited by hand in the Secret: drift.
  assert(!isSubset(secret("newpassword"), cached));
  assert(!isSubset(desired, PROJECTIONS.Secret(secret("edited by hand"))));
  assert(!isSubset(desired, { ...cached, data: {} }), "a removed key is drift");
  // stringData is what the API server stores in data.
  const { data: _, ...noData } = desired;
  assert(isSubset({ ...noData, stringData: { password: "otuspassword" } }, cached));
  assert(!isSubset({ ...noData, stringData: { password: "other" } }, cached));
  // Other fields still count.
  assert(!isSubset(desired, { ...cached, type: "kubernetes.io/tls" }));
  assert(!isSubset(desired, { ...cached, metadata: { ...cached.metadata, ownerReferences: [] } }));
});

Deno.test("sameQuantity: equal in value whatever the unit; a different size is different", () => {
  assertEquals(sameQuantity("1Gi", "1Gi"), true);
  assertEquals(sameQuantity("1024Mi", "1Gi"), true);
  assertEquals(sameQuantity("1G", "1000M"), true);
  assertEquals(sameQuantity("2Gi", "1Gi"), false);
  assertEquals(sameQuantity("1G", "1Gi"), false);
  assertEquals(sameQuantity("lots", "1Gi"), false);
});

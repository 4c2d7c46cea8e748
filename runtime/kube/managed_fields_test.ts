import { assertEquals } from "../../tests/_assert.ts";
import { withoutManagedFields } from "./managed_fields.ts";

const managed = [{ manager: "kube-controller-manager", operation: "Update", fieldsV1: { "f:status": {} } }];

Deno.test("an object's managedFields go and everything else stays", () => {
  const obj = {
    kind: "Deployment",
    metadata: { name: "db", labels: { a: "b" }, managedFields: managed },
    spec: { replicas: 1 },
  };
  assertEquals(withoutManagedFields(obj), {
    kind: "Deployment",
    metadata: { name: "db", labels: { a: "b" } },
    spec: { replicas: 1 },
  });
  assertEquals("managedFields" in obj.metadata, false);
});

Deno.test("a list's items lose their managedFields; the list's own metadata and odd items are left alone", () => {
  const list = {
    kind: "DeploymentList",
    metadata: { resourceVersion: "7" },
    items: [{ metadata: { name: "a", managedFields: managed } }, null, { spec: {} }, {
      metadata: { name: "b", managedFields: managed },
    }],
  };
  assertEquals(withoutManagedFields(list), {
    kind: "DeploymentList",
    metadata: { resourceVersion: "7" },
    items: [{ metadata: { name: "a" } }, null, { spec: {} }, { metadata: { name: "b" } }],
  });
});

Deno.test("answers that are not objects pass through", () => {
  assertEquals(withoutManagedFields({}), {});
  assertEquals(withoutManagedFields(null), null);
  assertEquals(withoutManagedFields({ items: "x" }), { items: "x" });
});

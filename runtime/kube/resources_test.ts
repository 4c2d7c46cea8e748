import { assertEquals } from "../../tests/_assert.ts";
import { collectionPath, objectPath, resourceOfPath, RESOURCES } from "./resources.ts";

Deno.test("resourceOfPath: the resource (and subresource) of every kind of path the client sends", () => {
  const mysqls = { group: "otus.example", version: "v1", plural: "mysqls", kind: "MySQL", namespaced: true };
  const rows: Array<[string, string]> = [
    [collectionPath(RESOURCES.deployment, "ns"), "deployments"],
    [objectPath(RESOURCES.deployment, "ns", "x"), "deployments"],
    [collectionPath(RESOURCES.deployment), "deployments"],
    [objectPath(RESOURCES.pv, undefined, "pv-1"), "persistentvolumes"],
    [`${objectPath(mysqls, "ns", "db")}/status`, "mysqls/status"],
    [`${objectPath(RESOURCES.lease, "kube-system", "l")}?fieldManager=x`, "leases"],
    [objectPath(RESOURCES.namespace, undefined, "ns"), "namespaces"],
    [collectionPath(RESOURCES.namespace), "namespaces"],
    ["/api/v1/namespaces", "namespaces"],
    ["/version", ""],
    ["/apis", ""],
  ];
  for (const [path, want] of rows) assertEquals(resourceOfPath(path), want, path);
});

import { assert, assertEquals } from "../tests/_assert.ts";
import type { KubeObject } from "./kube/client.ts";
import { digestBase64, digestText, projectionFor, projections, secretDigests } from "./projection.ts";

/** A controller's domains as the MySQL controller's (reconcilers/mysql_cache.ts): its API group, the well-known labels. */
const DOMAINS = { labels: ["otus.homework", "app.kubernetes.io"], annotations: ["otus.homework"] };
const PROJECTIONS = projections(DOMAINS);

/** Metadata as the API server returns it: ours, the system's and other people's fields mixed. */
function meta(extra: Record<string, unknown> = {}): KubeObject["metadata"] {
  return {
    name: "x",
    namespace: "ns",
    uid: "u-1",
    resourceVersion: "42",
    generation: 3,
    creationTimestamp: "2026-01-01T00:00:00Z",
    ownerReferences: [{
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      name: "x",
      uid: "m-1",
      controller: true,
    }],
    finalizers: ["kubernetes.io/pvc-protection"],
    labels: {
      "app.kubernetes.io/managed-by": "mysql-operator",
      "app.kubernetes.io/instance": "x",
      "otus.homework/namespace": "ns",
      "team": "payments",
      "example.com/tier": "gold",
    },
    annotations: {
      "otus.homework/instance": "ns/x",
      "backup.otus.homework/note": "sub-domain of ours",
      "kubectl.kubernetes.io/last-applied-configuration": "{}".repeat(50_000),
      "deployment.kubernetes.io/revision": "2",
      "note": "unprefixed",
    },
    managedFields: [{ manager: "kubectl", fieldsV1: { "f:data": {} } }],
    selfLink: "/api/v1/x",
    ...extra,
  };
}

const KEPT_META = {
  name: "x",
  namespace: "ns",
  uid: "u-1",
  resourceVersion: "42",
  generation: 3,
  creationTimestamp: "2026-01-01T00:00:00Z",
  ownerReferences: [{
    apiVersion: "otus.homework/v1",
    kind: "MySQL",
    name: "x",
    uid: "m-1",
    controller: true,
  }],
  finalizers: ["kubernetes.io/pvc-protection"],
  labels: {
    "app.kubernetes.io/managed-by": "mysql-operator",
    "app.kubernetes.io/instance": "x",
    "otus.homework/namespace": "ns",
  },
  annotations: { "otus.homework/instance": "ns/x", "backup.otus.homework/note": "sub-domain of ours" },
};

const b64 = (s: string) => btoa(s);

/** Per kind: the object as served, and what the cache must hold of it. */
const TABLE: Array<{ kind: string; served: KubeObject; kept: KubeObject }> = [
  {
    kind: "Deployment",
    served: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(),
      spec: { replicas: 1, template: { spec: { containers: [{ name: "m", image: "mysql:8.4" }] } } },
      status: {
        observedGeneration: 3,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [{ type: "Available", status: "True" }],
        collisionCount: 0,
        terminatingReplicas: 0,
      },
    },
    kept: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: KEPT_META,
      spec: { replicas: 1, template: { spec: { containers: [{ name: "m", image: "mysql:8.4" }] } } },
      status: {
        observedGeneration: 3,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [{ type: "Available", status: "True" }],
      },
    },
  },
  {
    kind: "Service",
    served: {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(),
      spec: { clusterIP: "10.96.0.7", ports: [{ name: "mysql", port: 3306 }] },
      status: { loadBalancer: {} },
    },
    kept: {
      apiVersion: "v1",
      kind: "Service",
      metadata: KEPT_META,
      spec: { clusterIP: "10.96.0.7", ports: [{ name: "mysql", port: 3306 }] },
    },
  },
  {
    kind: "PersistentVolumeClaim",
    served: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(),
      spec: { volumeName: "pv-1", resources: { requests: { storage: "1Gi" } }, storageClassName: "" },
      status: { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] },
    },
    kept: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: KEPT_META,
      spec: { volumeName: "pv-1", resources: { requests: { storage: "1Gi" } }, storageClassName: "" },
      status: { phase: "Bound", capacity: { storage: "1Gi" } },
    },
  },
  {
    kind: "PersistentVolume",
    served: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: meta({ namespace: undefined }),
      spec: { claimRef: { name: "x-data", namespace: "ns", uid: "c-1" }, hostPath: { path: "/tmp/x" } },
      status: { phase: "Released", lastPhaseTransitionTime: "2026-01-01T00:00:00Z" },
    },
    kept: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { ...KEPT_META, namespace: undefined },
      spec: { claimRef: { name: "x-data", namespace: "ns", uid: "c-1" }, hostPath: { path: "/tmp/x" } },
      status: { phase: "Released" },
    },
  },
  {
    kind: "Job",
    served: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta({ deletionTimestamp: "2026-01-02T00:00:00Z" }),
      spec: { backoffLimit: 0, template: { spec: { containers: [{ name: "backup" }] } } },
      status: {
        conditions: [{ type: "Complete", status: "True" }],
        succeeded: 1,
        completionTime: "2026-01-01T00:01:00Z",
        uncountedTerminatedPods: {},
        terminating: 0,
      },
    },
    kept: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { ...KEPT_META, deletionTimestamp: "2026-01-02T00:00:00Z" },
      spec: { backoffLimit: 0 },
      status: {
        conditions: [{ type: "Complete", status: "True" }],
        succeeded: 1,
        completionTime: "2026-01-01T00:01:00Z",
      },
    },
  },
  {
    kind: "Secret",
    served: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(),
      type: "Opaque",
      data: { password: b64("otuspassword"), empty: "" },
    },
    kept: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: KEPT_META,
      type: "Opaque",
      data: { password: digestText("otuspassword"), empty: digestText("") },
    },
  },
];

/** JSON round trip: drops keys whose value is undefined, as the cache's readers (and the wire) see them. */
const plain = (o: unknown) => JSON.parse(JSON.stringify(o));

for (const { kind, served, kept } of TABLE) {
  Deno.test(`projection of a ${kind}: keeps what the operator reads, drops the rest`, () => {
    const before = structuredClone(served);
    const projected = PROJECTIONS[kind](served);
    assertEquals(plain(projected), plain(kept));
    assertEquals(served, before, "the served object is left as it was");
  });
}

Deno.test("projection of a big foreign Secret: a few hundred bytes, whatever the data and annotations", () => {
  const big = "A".repeat(1.2 * 1024 * 1024); // 900 KiB of data as base64
  const served: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(),
    type: "Opaque",
    data: { blob: big, other: big },
  };
  const projected = PROJECTIONS.Secret(served);
  const size = JSON.stringify(projected).length;
  assert(size < 2_000, `projected size ${size}`);
  assertEquals(projected.data, { blob: digestBase64(big), other: digestBase64(big) });
  assert(!JSON.stringify(projected).includes("AAAA"), "no data left");
});

Deno.test("Secret digests: of the decoded bytes; data and stringData agree; a digest stays a digest", () => {
  const text = 'pä$$\n"word"';
  const data = btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  assertEquals(digestBase64(data), digestText(text));
  assert(digestBase64(data).startsWith("sha256:") && digestBase64(data).length === 7 + 64);
  assert(digestText("a") !== digestText("b"));
  const digested = secretDigests({ data: { password: data } })!;
  assertEquals(secretDigests({ data: digested }), digested, "projecting twice changes nothing");
  assertEquals(secretDigests({ stringData: { password: text } }), digested);
  // stringData wins over data, as on the API server.
  assertEquals(secretDigests({ data: { k: btoa("old") }, stringData: { k: "new" } }), {
    k: digestText("new"),
  });
  assertEquals(secretDigests({ type: "Opaque" }), undefined);
});

Deno.test("Secret digests: SHA-256 itself (FIPS 180-2 vectors), and a value that is not base64 does not throw", () => {
  const abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assertEquals(digestText("abc"), abc);
  assertEquals(digestBase64(btoa("abc")), abc);
  assertEquals(
    digestText("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(digestText(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assertEquals(digestBase64("not base64!"), digestText("not base64!"));
});

Deno.test("other kinds (the MySQL informers) keep everything but managedFields", () => {
  const obj: KubeObject = { kind: "MySQL", metadata: meta(), spec: { image: "mysql:8.4" } };
  const projected = projectionFor("MySQL", DOMAINS)(obj);
  assertEquals(projected.metadata?.managedFields, undefined);
  assertEquals(projected.metadata?.annotations?.note, "unprefixed");
  assertEquals(projected.spec, { image: "mysql:8.4" });
});

/**
 * Proves that every cluster of the shared local set behaves like the Kubernetes the operator needs: Ready
 * nodes, Deployments become Available, Jobs complete, a PVC binds to a pre-created hostPath PV, owner references
 * garbage-collect, CRD CEL rules reject with their message, and the `fail.invalid/` stage fails a Job.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  applyObject,
  ensureClusters,
  freshNamespace,
  kubectl,
  type KubeObject,
  type TestNamespace,
  waitFor,
} from "./_clusters.ts";

const { contexts } = await ensureClusters();

/** Runs `body` on every cluster at once, each in a fresh namespace; errors name the context. */
async function onEveryCluster(prefix: string, body: (ctx: string, ns: TestNamespace) => Promise<void>) {
  await Promise.all(contexts.map(async (ctx) => {
    const ns = await freshNamespace(ctx, prefix);
    try {
      await body(ctx, ns);
    } catch (e) {
      throw new Error(`[${ctx}] ${e instanceof Error ? e.message : e}`, { cause: e });
    } finally {
      await ns.cleanup();
    }
  }));
}

async function getJson<T = Record<string, unknown>>(ctx: string, ...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(ctx, "get", ...args, "-o", "json")) as T;
}

interface Condition {
  type: string;
  status: string;
  message?: string;
}
type WithConditions = { status?: { conditions?: Condition[] } };

function hasCondition(obj: WithConditions, type: string, status = "True"): boolean {
  return obj.status?.conditions?.some((c) => c.type === type && c.status === status) ?? false;
}

async function notFound(ctx: string, ...args: string[]): Promise<boolean> {
  try {
    await kubectl(ctx, "get", ...args);
    return false;
  } catch (e) {
    if (e instanceof Error && /NotFound|not found/.test(e.message)) return true;
    throw e;
  }
}

const LABELS = { app: "cluster-test" };

function job(ns: string, name: string, image: string): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: ns },
    spec: {
      // No retries: a failed pod fails the Job at once (the controller backs off 10 s, 20 s, ... otherwise).
      backoffLimit: 0,
      template: {
        metadata: { labels: { ...LABELS, job: name } },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image, command: ["/bin/true"] }] },
      },
    },
  };
}

Deno.test("every node of every cluster is Ready and there is at least one", async () => {
  await Promise.all(contexts.map(async (ctx) => {
    const nodes = await getJson<{ items: WithConditions[] }>(ctx, "nodes");
    assert(nodes.items.length >= 1, `[${ctx}] no nodes`);
    for (const n of nodes.items) {
      assert(hasCondition(n, "Ready"), `[${ctx}] node not Ready: ${JSON.stringify(n)}`);
    }
  }));
});

Deno.test("a Deployment becomes Available", async () => {
  await onEveryCluster("deploy", async (ctx, ns) => {
    await applyObject(ctx, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns.name },
      spec: {
        replicas: 2,
        selector: { matchLabels: LABELS },
        template: {
          metadata: { labels: LABELS },
          spec: { containers: [{ name: "web", image: "example.invalid/web:1" }] },
        },
      },
    });
    const d = await waitFor("Deployment web Available", async () => {
      const d = await getJson<WithConditions & { status?: { availableReplicas?: number } }>(
        ctx,
        "deployment",
        "web",
        "-n",
        ns.name,
      );
      return hasCondition(d, "Available") && d.status?.availableReplicas === 2 && d;
    });
    assertEquals(d.status?.availableReplicas, 2);
  });
});

Deno.test("a Job completes", async () => {
  await onEveryCluster("job", async (ctx, ns) => {
    await applyObject(ctx, job(ns.name, "ok", "example.invalid/tool:1"));
    const j = await waitFor("Job ok Complete", async () => {
      const j = await getJson<WithConditions & { status?: { succeeded?: number } }>(
        ctx,
        "job",
        "ok",
        "-n",
        ns.name,
      );
      assert(!hasCondition(j, "Failed"), `Job failed: ${JSON.stringify(j.status)}`);
      return hasCondition(j, "Complete") && j;
    });
    assertEquals(j.status?.succeeded, 1);
  });
});

Deno.test("a Job whose image starts with fail.invalid/ fails (custom kwok stage)", async () => {
  await onEveryCluster("failjob", async (ctx, ns) => {
    await applyObject(ctx, job(ns.name, "bad", "fail.invalid/backup:1"));
    const j = await waitFor("Job bad Failed", async () => {
      const j = await getJson<WithConditions>(ctx, "job", "bad", "-n", ns.name);
      assert(!hasCondition(j, "Complete"), `Job completed: ${JSON.stringify(j.status)}`);
      return hasCondition(j, "Failed") && j;
    });
    assert(hasCondition(j, "Failed"));
    const pods = await getJson<{
      items: {
        status: {
          phase: string;
          containerStatuses?: { state?: { terminated?: { exitCode: number; message?: string } } }[];
        };
      }[];
    }>(ctx, "pods", "-n", ns.name, "-l", "job=bad");
    assertEquals(pods.items.length, 1);
    const pod = pods.items[0];
    assertEquals(pod.status.phase, "Failed");
    const term = pod.status.containerStatuses?.[0]?.state?.terminated;
    assertEquals(term?.exitCode, 1);
    assertEquals(JSON.parse(term?.message ?? "{}").result, "Failed");
  });
});

Deno.test("a PVC binds to a pre-created hostPath PV of the same storageClassName", async () => {
  await onEveryCluster("pvc", async (ctx, ns) => {
    // PVs are cluster-scoped: the namespace's unique name keeps parallel runs apart.
    const pv = `${ns.name}-pv`;
    const storageClassName = `manual-${ns.name}`;
    try {
      await applyObject(ctx, {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: pv },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName,
          hostPath: { path: `/tmp/hostpath_pv/${pv}`, type: "DirectoryOrCreate" },
        },
      });
      await applyObject(ctx, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data", namespace: ns.name },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName,
          resources: { requests: { storage: "1Gi" } },
        },
      });
      const pvc = await waitFor("PVC data Bound", async () => {
        const c = await getJson<{ status?: { phase?: string }; spec: { volumeName?: string } }>(
          ctx,
          "pvc",
          "data",
          "-n",
          ns.name,
        );
        return c.status?.phase === "Bound" && c;
      });
      assertEquals(pvc.spec.volumeName, pv);
    } finally {
      await kubectl(ctx, "delete", "pv", pv, "--ignore-not-found", "--wait=false");
    }
  });
});

Deno.test("deleting an owner garbage-collects what it owns", async () => {
  await onEveryCluster("gc", async (ctx, ns) => {
    const owner = await applyObject(ctx, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owner", namespace: ns.name },
      data: { role: "owner" },
    });
    const uid = owner.metadata.uid as string;
    for (const name of ["child-a", "child-b"]) {
      await applyObject(ctx, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name,
          namespace: ns.name,
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid, controller: true }],
        },
        stringData: { k: "v" },
      });
    }
    // The children exist (and stay while the owner does): the test fails if GC were not what removed them.
    await kubectl(ctx, "get", "secret", "child-a", "child-b", "-n", ns.name);
    await kubectl(ctx, "delete", "configmap", "owner", "-n", ns.name);
    await waitFor("owned Secrets garbage-collected", async () => {
      return (await notFound(ctx, "secret", "child-a", "-n", ns.name)) &&
        (await notFound(ctx, "secret", "child-b", "-n", ns.name));
    });
  });
});

const CEL_GROUP = "clustertest.mysql-operator.test";
const CEL_MESSAGE = "spec.replicas must not exceed spec.maxReplicas";

Deno.test("a CRD with a CEL rule rejects a bad object with the rule's message", async () => {
  await onEveryCluster("cel", async (ctx, ns) => {
    // Cluster-scoped and shared by every run: server-side apply of the same content is idempotent.
    await applyObject(ctx, {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `widgets.${CEL_GROUP}` },
      spec: {
        group: CEL_GROUP,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [{
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  required: ["replicas", "maxReplicas"],
                  properties: { replicas: { type: "integer" }, maxReplicas: { type: "integer" } },
                  "x-kubernetes-validations": [{
                    rule: "self.replicas <= self.maxReplicas",
                    message: CEL_MESSAGE,
                  }],
                },
              },
            },
          },
        }],
      },
    });
    await waitFor("CRD widgets Established", async () => {
      const crd = await getJson<WithConditions>(ctx, "crd", `widgets.${CEL_GROUP}`);
      return hasCondition(crd, "Established");
    });
    const widget = (name: string, replicas: number): KubeObject => ({
      apiVersion: `${CEL_GROUP}/v1`,
      kind: "Widget",
      metadata: { name, namespace: ns.name },
      spec: { replicas, maxReplicas: 3 },
    });
    // The first use of a new kind can race discovery for a moment: retry the good object until it is stored.
    await waitFor("a valid Widget accepted", () => applyObject(ctx, widget("good", 2)));
    let rejected: Error | undefined;
    try {
      await applyObject(ctx, widget("bad", 5));
    } catch (e) {
      rejected = e as Error;
    }
    assert(rejected, "the invalid Widget was accepted");
    assertStringIncludes(rejected.message, CEL_MESSAGE);
    assert(
      await notFound(ctx, `widgets.${CEL_GROUP}`, "bad", "-n", ns.name),
      "the invalid Widget was stored",
    );
  });
});

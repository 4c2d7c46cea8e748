/**
 * The end-of-run check of `deno task test` (tools/test_suite.ts) sees a namespace that cannot finish terminating:
 * fed a namespace held by a finalizer nobody removes, it reports it, and stops reporting once the finalizer goes.
 *
 * @module
 */
import { assert } from "./_assert.ts";
import { applyObject, dropFinalizers, ensureClusters, kubectl, waitFor } from "./_clusters.ts";
import { terminatingNamespaces } from "../tools/test_suite.ts";
import { clusterPaths } from "../tools/cluster/paths.ts";

const { contexts, names } = await ensureClusters(1);

Deno.test("the end-of-run check reports a namespace stuck Terminating, and only while it is stuck", async () => {
  const paths = await clusterPaths();
  const ns = `stuck-${crypto.randomUUID().slice(0, 8)}`;
  await kubectl(contexts[0], "create", "namespace", ns);
  await applyObject(contexts[0], {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "held", namespace: ns, finalizers: ["mysql-operator.test/hold"] },
  });
  try {
    assert(
      !(await terminatingNamespaces(paths, names[0])).includes(ns),
      "an active namespace is not reported",
    );
    await kubectl(contexts[0], "delete", "namespace", ns, "--wait=false");
    await waitFor(
      `${ns} reported Terminating`,
      async () => (await terminatingNamespaces(paths, names[0])).includes(ns),
    );
  } finally {
    await dropFinalizers(contexts[0], "configmap/held", ns).catch(() => {});
    await kubectl(contexts[0], "delete", "namespace", ns, "--wait=false", "--ignore-not-found");
  }
  await waitFor(
    `${ns} no longer reported`,
    async () => !(await terminatingNamespaces(paths, names[0])).includes(ns),
    60_000,
  );
});

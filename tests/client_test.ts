/**
 * The API client against a real API server, for what only a real one can say: which representation it answers.
 */
import { assert, assertEquals } from "./_assert.ts";
import { ensureClusters, freshNamespace, kubectl } from "./_clusters.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { KubeClient, type KubeObject } from "../runtime/kube/client.ts";
import { collectionPath } from "../runtime/kube/resources.ts";

Deno.test("a create with metadataOnly is answered with the new object's metadata alone, and creates it whole", async () => {
  const { kubeconfig, contexts } = await ensureClusters(1);
  const ctx = contexts[0];
  await using ns = await freshNamespace(ctx, "client");
  const client = new KubeClient(await connectionFor(loadKubeconfig({ path: kubeconfig }), ctx));
  try {
    const big = "s".repeat(20_000); // a Job's script is about this long
    const configMaps = {
      group: "",
      version: "v1",
      plural: "configmaps",
      kind: "ConfigMap",
      namespaced: true,
    };
    const path = collectionPath(configMaps, ns.name);
    const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "big", namespace: ns.name } };
    const answer = await client.create<KubeObject>(path, { ...object, data: { big } }, "test", {
      metadataOnly: true,
    });
    assertEquals(answer.kind, "PartialObjectMetadata");
    assertEquals(answer.metadata?.name, "big");
    assert(answer.metadata?.uid, "the answer names the new object's uid");
    assertEquals(answer.data, undefined);
    assert(JSON.stringify(answer).length < 2_000, `an answer of ${JSON.stringify(answer).length} characters`);
    // Without the option: the object back whole.
    const whole = await client.create<KubeObject>(path, {
      ...object,
      metadata: { ...object.metadata, name: "b2" },
      data: { big },
    }, "test");
    assertEquals(whole.data?.big, big);
    // And the first was created whole, not as its metadata.
    assertEquals(
      await kubectl(ctx, "get", "configmap", "big", "-n", ns.name, "-o", "jsonpath={.data.big}"),
      big,
    );
  } finally {
    client.close();
  }
});

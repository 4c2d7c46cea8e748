/**
 * The first mysqld Deployment waits for its data claim (reconcilers/children.ts `claimsToWaitFor`), against a real
 * control plane: a pod made before its claim binds only fails to schedule, and the scheduler's retries and events
 * load the control plane that is binding the claim (README, "The first Deployment waits for its data claim").
 * Seen failing with the wait removed: the Deployment's creation came before the claim's Bound in etcd's order.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  clientFor,
  clustersWithCRD,
  condition,
  courseObject,
  kubectlApply,
  recordWatch,
  waitCondition,
} from "./_k8s.ts";
import { withOperator } from "./_operator.ts";
import { collectionPath, RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[0];
const NAME = "mysql-instance";

const TITLE =
  "the first mysqld Deployment is created after its data claim is Bound, and no pod fails to schedule";

Deno.test(TITLE, async () => {
  await withOperator({ kubeconfig, context: ctx, prefix: "volume-first" }, async (ns) => {
    const client = await clientFor(kubeconfig, ctx);
    const claims = recordWatch(client, RESOURCES.pvc, ns);
    const deployments = recordWatch(client, RESOURCES.deployment, ns);
    try {
      await Promise.all([claims.listed, deployments.listed]);
      await kubectlApply(ctx, await courseObject(ns));
      const ready = await waitCondition(ctx, ns, NAME, "Ready", "True");
      assertStringIncludes(condition(ready, "Ready")!.message, "serving");
      const names = childNames({ namespace: ns, name: NAME });
      const bound = claims.seen.find((s) =>
        s.obj.metadata?.name === names.dataPVC && s.obj.status?.phase === "Bound"
      );
      const created = deployments.seen.find((s) => s.obj.metadata?.name === names.deployment);
      assert(bound, "the data claim was seen Bound");
      assert(created, "the Deployment was seen");
      assertEquals(created.type, "ADDED", "the Deployment was made after the watch began");
      // resourceVersions are etcd's revisions: one order across every resource of the cluster.
      assert(
        created.rv > bound.rv,
        `Deployment created at revision ${created.rv}, claim Bound at ${bound.rv}`,
      );
      const failed = await client.list(collectionPath(RESOURCES.event, ns), {
        fieldSelector: "reason=FailedScheduling",
      });
      assertEquals(failed.items.map((e) => e.message), [], "no pod of this instance failed to schedule");
    } finally {
      await claims.stop();
      await deployments.stop();
    }
  });
});

/**
 * What GitOps tools make of the operator's status, on live objects: the real kstatus library (Flux's health
 * checks; tools/kstatus/) and the Argo CD health check (deploy/argocd/health.lua under Lua 5.1) read objects the
 * operator drove into each state on a local cluster. Serving → Current / Healthy; on its way (mysqld Pending, a
 * deletion whose final backup keeps failing) → InProgress / Progressing; stuck until someone acts (a missing
 * password Secret, a child's name held by another app) → Failed / Degraded at once, not after a timeout; and
 * when the user acts, Current again.
 */
import { assertEquals } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import { clustersWithCRD, courseObject, kubectlApply, patchMySQL, waitCondition } from "./_k8s.ts";
import { withOperator } from "./_operator.ts";
import { kstatus } from "../tools/kstatus/kstatus.ts";
import { argoHealth, ensureLua } from "../tools/argocd_health.ts";
import { ANNOTATIONS } from "../api/mysql.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[1];
const missing = await ensureLua();
if (missing) console.warn(`SKIPPED tests/gitops_health_test.ts: lua5.1 not installed (${missing})`);

/** kstatus' and Argo CD's verdicts on every MySQL of the namespace, by name: `<kstatus> <argo>`. */
async function verdicts(ns: string): Promise<Record<string, string>> {
  const list = JSON.parse(await kubectl(ctx, "get", "mysqls", "-n", ns, "-o", "json"));
  const out: Record<string, string> = {};
  for (const r of await kstatus(list)) out[r.name] = r.status;
  for (const obj of list.items) out[obj.metadata.name] += ` ${(await argoHealth(obj)).status}`;
  return out;
}

Deno.test({
  name:
    "kstatus and Argo CD read the operator's status: Current/Healthy, InProgress/Progressing, Failed/Degraded",
  ignore: missing !== undefined,
  async fn() {
    await withOperator({ kubeconfig, context: ctx, prefix: "gitops" }, async (ns) => {
      // Another app's Service holds the name the instance's Service needs.
      await kubectlApply(ctx, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "taken", namespace: ns },
        spec: { ports: [{ port: 80 }] },
      });
      await kubectlApply(ctx, await courseObject(ns, {}, "serving"));
      await kubectlApply(
        ctx,
        await courseObject(ns, { resources: { requests: { cpu: "1000" } } }, "pending"),
      );
      await kubectlApply(
        ctx,
        await courseObject(ns, { password: undefined, passwordSecretRef: { name: "later" } }, "no-secret"),
      );
      await kubectlApply(ctx, await courseObject(ns, {}, "taken"));
      await kubectlApply(ctx, await courseObject(ns, {}, "leaving"));

      await waitCondition(ctx, ns, "serving", "Ready", "True");
      await waitCondition(ctx, ns, "pending", "Reconciling", "True", "MySQLNotReady");
      await waitCondition(ctx, ns, "no-secret", "Stalled", "True", "PasswordSecretNotFound");
      await waitCondition(ctx, ns, "taken", "Stalled", "True", "NameConflict");
      await waitCondition(ctx, ns, "leaving", "Ready", "True");
      // Its backups fail from now on (kwok fails images under fail.invalid/), so its final backup does.
      await patchMySQL(ctx, ns, "leaving", { spec: { backup: { image: "fail.invalid/mysql:5.7" } } });
      await kubectl(ctx, "delete", "mysql", "leaving", "-n", ns, "--wait=false");
      await waitCondition(ctx, ns, "leaving", "Reconciling", "True", "FinalBackupFailed", 90_000);

      assertEquals(await verdicts(ns), {
        serving: "Current Healthy",
        pending: "InProgress Progressing",
        "no-secret": "Failed Degraded",
        taken: "Failed Degraded",
        // kstatus calls every object being deleted Terminating; Argo CD waits, the data is kept meanwhile.
        leaving: "Terminating Progressing",
      });

      // The user acts: the Secret appears, the other app's Service goes; both recover without a restart.
      await kubectl(ctx, "create", "secret", "generic", "later", "-n", ns, "--from-literal=password=s3cret");
      await kubectl(ctx, "delete", "service", "taken", "-n", ns);
      await waitFor("both recovered", async () => {
        const v = await verdicts(ns);
        return v["no-secret"] === "Current Healthy" && v.taken === "Current Healthy" ? v : undefined;
      }, 120_000);
      // Let the failing deletion go (its data with it, as asked) so the namespace can.
      await kubectl(ctx, "annotate", "mysql", "leaving", "-n", ns, `${ANNOTATIONS.skipFinalBackup}=true`);
    });
  },
});

/**
 * Pause on purpose (`otus.homework/reconcile: paused`, README "The resource"): while paused the operator changes
 * nothing of the instance — a Deployment deleted by hand stays gone, a backup request waits — and says Paused
 * (Argo CD: Suspended); unpaused, it catches up. A deletion is still guarded: the final backup completes before
 * the data claim goes, paused or not.
 */
import { assert, assertEquals } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import {
  claimGoing,
  clientFor,
  clustersWithCRD,
  completedFinalBackup,
  courseObject,
  getMySQL,
  kubectlApply,
  patchMySQL,
  recordWatch,
  waitCondition,
} from "./_k8s.ts";
import { withOperator } from "./_operator.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { PHASES } from "../api/status.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { argoHealth, ensureLua } from "../tools/argocd_health.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[1];
const noLua = await ensureLua();

async function exists(kind: string, ns: string, name: string): Promise<boolean> {
  return (await kubectl(ctx, "get", kind, name, "-n", ns, "--ignore-not-found", "-o", "name")).trim() !== "";
}

async function pausedAndSeen(ns: string, name: string) {
  return await waitFor(`${ns}/${name} Paused`, async () => {
    const o = await getMySQL(ctx, ns, name);
    return o?.status?.phase === PHASES.paused ? o : undefined;
  });
}

Deno.test("paused: nothing is changed (a Deployment deleted by hand stays gone, a backup request waits); unpaused, both happen", async () => {
  await withOperator({ kubeconfig, context: ctx, prefix: "pause" }, async (ns) => {
    await kubectlApply(ctx, await courseObject(ns, {}, "db"));
    await waitCondition(ctx, ns, "db", "Ready", "True");
    await kubectl(ctx, "annotate", "mysql", "db", "-n", ns, `${ANNOTATIONS.reconcile}=paused`);
    await pausedAndSeen(ns, "db");

    await kubectl(ctx, "delete", "deployment", "db", "-n", ns);
    await kubectl(ctx, "annotate", "mysql", "db", "-n", ns, `${ANNOTATIONS.backupNow}=while-paused`);
    // A spec change as the marker: once its generation is observed, a pass has seen all of the above.
    const patched = JSON.parse(
      await kubectl(
        ctx,
        "patch",
        "mysql",
        "db",
        "-n",
        ns,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { backup: { retention: 5 } } }),
        "-o",
        "json",
      ),
    );
    const seen = await waitFor("a pass that saw the change", async () => {
      const o = await getMySQL(ctx, ns, "db");
      return (o?.status?.observedGeneration ?? 0) >= patched.metadata.generation ? o : undefined;
    });
    assertEquals(seen.status?.phase, PHASES.paused);
    assert(!(await exists("deployment", ns, "db")), "the Deployment was put back while paused");
    const jobs = await kubectl(ctx, "get", "jobs", "-n", ns, "-o", "name");
    assertEquals(jobs.trim(), "", "a backup Job started while paused");
    assertEquals(seen.status?.backupNowHandled, undefined);
    const reconciling = seen.status?.conditions?.find((c) => c.type === "Reconciling");
    assertEquals([reconciling?.status, reconciling?.reason], ["False", "Paused"]);
    if (!noLua) assertEquals((await argoHealth(seen)).status, "Suspended");

    await kubectl(ctx, "annotate", "mysql", "db", "-n", ns, `${ANNOTATIONS.reconcile}-`);
    await waitFor("the Deployment put back and the backup taken", async () => {
      const o = await getMySQL(ctx, ns, "db");
      return o?.status?.backupNowHandled === "while-paused" && await exists("deployment", ns, "db");
    }, 90_000);
    await waitCondition(ctx, ns, "db", "Ready", "True");
  });
});

Deno.test("paused: a deletion still takes the final backup before the data goes", async () => {
  await withOperator({ kubeconfig, context: ctx, prefix: "pause-del" }, async (ns) => {
    const client = await clientFor(kubeconfig, ctx);
    const jobs = recordWatch(client, RESOURCES.job, ns);
    const claims = recordWatch(client, RESOURCES.pvc, ns);
    try {
      await kubectlApply(ctx, await courseObject(ns, {}, "db"));
      await waitCondition(ctx, ns, "db", "Ready", "True");
      const ready = await waitFor("the bound data claim recorded", async () => {
        const o = await getMySQL(ctx, ns, "db");
        return o?.status?.dataClaimUID ? o : undefined;
      });
      await patchMySQL(ctx, ns, "db", { metadata: { annotations: { [ANNOTATIONS.reconcile]: "paused" } } });
      await pausedAndSeen(ns, "db");
      await kubectl(ctx, "delete", "mysql", "db", "-n", ns, "--wait=false");
      await waitFor("the object to be gone", async () => !(await getMySQL(ctx, ns, "db")), 120_000);
      const names = childNames({ namespace: ns, name: "db", uid: ready.metadata.uid });
      const going = await waitFor("the data claim going", () => claimGoing(claims.seen, names.dataPVC));
      const backup = completedFinalBackup(jobs.seen);
      assert(backup, "no final backup Job completed");
      assert(
        backup.rv < going.rv,
        `the data claim went (rv ${going.rv}) before the final backup (rv ${backup.rv})`,
      );
    } finally {
      await jobs.stop();
      await claims.stop();
      client.close();
    }
  });
});

/**
 * The operator with `spec.backup.objectStore` on a real control plane (kwok nodes; the Jobs' pods are simulated,
 * so what is asserted is what the operator does and writes): without the store's Secret nothing that needs it
 * starts (no restore, no backup, no final backup; never an empty start, never a Job that would hang on the
 * Secret), and it says so; with the Secret the Jobs it makes are the store's (its folder, the keys by reference,
 * no backup volume) and the backup claim is not marked.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import {
  clientFor,
  clustersWithCRD,
  condition,
  courseObject,
  eventsOf,
  getMySQL,
  kubectlApply,
  recordWatch,
  waitCondition,
} from "./_k8s.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import { withOperator } from "./_operator.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { childNames } from "../templates/names.ts";
import type { KubeObject } from "../runtime/kube/client.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[0];
const NAME = "mysql-instance";

const envOf = (job: KubeObject) =>
  new Map<string, Record<string, unknown>>(
    job.spec.template.spec.containers[0].env.map((e: Record<string, unknown>) => [e.name as string, e]),
  );

Deno.test("object store: without its Secret no restore, backup or final backup starts and the status says why; with it the Jobs are the store's", async () => {
  await withOperator(
    { kubeconfig, context: ctx, prefix: "store-op", args: ["--lease-duration-seconds", "4"] },
    async (ns) => {
      const spec = {
        backup: {
          objectStore: {
            endpoint: "http://s3.invalid:7070",
            bucket: "backups",
            prefix: "team",
            credentialsSecretRef: { name: "s3-keys" },
          },
        },
      };
      // Every Job of the namespace from the start: none may come before the Secret does.
      const client = await clientFor(kubeconfig, ctx);
      const jobWatch = recordWatch(client, RESOURCES.job, ns);
      await jobWatch.listed;
      await kubectlApply(ctx, await courseObject(ns, spec as never));
      const blocked = await waitCondition(ctx, ns, NAME, "BackupReady", "False", "StoreCredentialsMissing");
      assertStringIncludes(condition(blocked, "BackupReady")!.message, "Secret s3-keys");
      // First it may wait for mysqld; once mysqld serves, it waits for the Secret, and says so.
      await waitFor("the restore waiting for the store's Secret", async () => {
        const c = condition(await getMySQL(ctx, ns, NAME), "Restored");
        return c?.reason === "RestorePending" && c.message.includes("Secret s3-keys");
      }, 90_000); // mysqld's pod is made, scheduled and Ready first
      assertEquals(condition(await getMySQL(ctx, ns, NAME), "Ready")?.status, "False", "started empty");
      await kubectl(ctx, "annotate", "mysql", NAME, "-n", ns, `${ANNOTATIONS.backupNow}=1`);
      await waitFor(
        "a StoreCredentialsMissing Warning",
        async () =>
          (await eventsOf(ctx, ns, NAME)).some((e) =>
            e.reason === "StoreCredentialsMissing" && e.type === "Warning"
          ),
      );
      // The Secret comes: the restore runs from the store, then the requested backup; both Jobs are the store's.
      await kubectlApply(ctx, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s3-keys", namespace: ns },
        stringData: { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "not-a-real-secret" },
      });
      const secretRv = Number(
        await kubectl(
          ctx,
          "get",
          "secret",
          "s3-keys",
          "-n",
          ns,
          "-o",
          "jsonpath={.metadata.resourceVersion}",
        ),
      );
      const ready = await waitCondition(ctx, ns, NAME, "Ready", "True", undefined, 90_000);
      assertEquals(ready.status?.restore?.result, "Restored", JSON.stringify(ready.status?.restore));
      await waitFor("the requested backup recorded", async () => {
        const m = await getMySQL(ctx, ns, NAME);
        return m?.status?.backupNowHandled === "1" &&
          condition(m, "BackupReady")?.reason === "BackupSucceeded";
      }, 90_000);
      // The Jobs as the recording saw them made (a simulated Job is done and deleted before a poll would see it).
      const isBackup = (j: KubeObject) => j.metadata?.labels?.["app.kubernetes.io/component"] === "backup";
      await waitFor(
        "the backup Job in the recording",
        () => jobWatch.seen.some((e) => e.type === "ADDED" && isBackup(e.obj)),
      );
      await jobWatch.stop();
      client.close();
      const early = jobWatch.seen.filter((e) => e.type === "ADDED" && e.rv < secretRv);
      assertEquals(
        early.map((e) => e.obj.metadata?.name),
        [],
        "a Job started before the store's Secret existed",
      );
      assert(jobWatch.seen.some((e) => e.type === "ADDED"), "no Job at all was seen");
      const made = jobWatch.seen.filter((e) => e.type === "ADDED").map((e) => e.obj);
      const backupJob = made.find(isBackup)!;
      const env = envOf(backupJob);
      assertEquals(env.get("STORE_PATH")?.value, `backups/team/${ctx}/${ns}/${NAME}`);
      assertEquals(env.get("RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY")?.valueFrom, {
        secretKeyRef: { name: "s3-keys", key: "AWS_SECRET_ACCESS_KEY" },
      });
      assertEquals(backupJob.spec.template.spec.volumes ?? [], [], "a store Job mounts the backup volume");
      assert(!JSON.stringify(made).includes("not-a-real-secret"), "the store's secret in a Job");
      const claim = JSON.parse(
        await kubectl(
          ctx,
          "get",
          "pvc",
          childNames({ namespace: ns, name: NAME }).backupPVC,
          "-n",
          ns,
          "-o",
          "json",
        ),
      );
      assertEquals(
        claim.metadata.annotations?.[ANNOTATIONS.lastBackupTime],
        undefined,
        "the backup claim was marked",
      );

      // The Secret goes, then the object is deleted: the final backup is blocked, the data kept, the object held.
      await kubectl(ctx, "delete", "secret", "s3-keys", "-n", ns);
      await kubectl(ctx, "delete", "mysql", NAME, "-n", ns, "--wait=false");
      const held = await waitCondition(ctx, ns, NAME, "Ready", "False", "FinalBackupBlocked", 90_000);
      assertStringIncludes(condition(held, "Ready")!.message, "Secret s3-keys");
      assert(
        (await kubectl(
          ctx,
          "get",
          "pvc",
          childNames({ namespace: ns, name: NAME, uid: held.metadata.uid }).dataPVC,
          "-n",
          ns,
          "-o",
          "name",
        )).trim() !== "",
        "the data claim went without a final backup",
      );
      // It comes back: the final backup runs and the object goes.
      await kubectlApply(ctx, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s3-keys", namespace: ns },
        stringData: { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "not-a-real-secret" },
      });
      await waitFor("the MySQL object to be gone", async () => !(await getMySQL(ctx, ns, NAME)), 120_000);
    },
  );
});

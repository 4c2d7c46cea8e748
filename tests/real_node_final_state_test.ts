/**
 * The final backup is the final state, on the REAL node (real kubelet, real mysqld from the local MariaDB 10.11
 * image, real backup and restore Jobs; tests/_real_node.ts): clients keep inserting rows through the Service while
 * the MySQL object is deleted, and after the object is re-created every row whose INSERT the server acknowledged is
 * back; the final backup says it was taken read-only.
 *
 * The command sequence (what a user does, with two applications writing all along):
 *   kubectl apply -f secret.yaml -f mysql.yaml            # Secret db-root + MySQL `shop` → Ready
 *   (as root over the socket) CREATE TABLE t ...; CREATE USER app ...  # the application's table and account
 *   two clients insert continuously through the Service's ClusterIP:3306: one as `app`, one as `root` (the
 *   account that holds every privilege, the final backup's own one); each records every acknowledged INSERT
 *   kubectl delete mysql shop --wait=false                 # final backup (stops writes first), then the data goes
 *   (wait until the object is gone; stop the clients)
 *   kubectl apply -f mysql.yaml                            # same name → restore Job loads the final backup → Ready
 *   SELECT writer, n FROM t                                # every acknowledged row is there
 *   kubectl get events (of the deleted object)             # BackupSucceeded: "final backup ... taken read-only"
 *
 * One operator process serves only the test's namespace. Skipped, with the reason printed, only where a real node
 * cannot run (not Linux, not root, no cgroups).
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { kubectl, waitFor } from "./_clusters.ts";
import { deleteWithoutFinalBackup, getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { withOperator } from "./_operator.ts";
import {
  ensureRealNodeCluster,
  installCRD,
  type RealNodeCluster,
  removeTestVolumes,
  socketSql,
} from "./_real_node.ts";
import { type InserterStats, startInserter } from "./_inserter.ts";
import type { MySQL } from "../api/mysql.ts";

const NAME = "shop";
const DATABASE = "shop_db";
/** Letters and digits only: the clients' option files need no quoting (quoting is proven in real_node_test.ts). */
const ROOT_PASSWORD = "RootFinalState42";
const APP_PASSWORD = "AppFinalState42";
const WRITERS = ["app", "root"] as const;

const rn = await ensureRealNodeCluster();
if ("skip" in rn) {
  console.warn(`SKIPPED tests/real_node_final_state_test.ts: ${rn.skip}`);
  Deno.test({
    name: `real node: the final backup is the final state (skipped: ${rn.skip})`,
    ignore: true,
    fn() {},
  });
} else {
  await installCRD(rn.context);
  Deno.test({
    name: "real node: rows acknowledged while the object is deleted are all back after re-creation; " +
      "the final backup was taken read-only",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => finalState(rn),
  });
}

/** SQL as root over the mysqld pod's unix socket. */
const sql = (ctx: string, ns: string, statements: string) => socketSql(ctx, ns, NAME, DATABASE, statements);

async function finalState(rn: RealNodeCluster): Promise<void> {
  const ctx = rn.context;
  const opArgs = ["--lease-duration-seconds", "4", "--image-pull-policy", "IfNotPresent"];
  let namespace = "";
  const uids: string[] = [];
  try {
    await withOperator(
      { kubeconfig: rn.kubeconfig, context: ctx, prefix: "finalstate", args: opArgs },
      async (ns) => {
        namespace = ns;
        const spec = {
          apiVersion: "otus.homework/v1",
          kind: "MySQL",
          metadata: { name: NAME, namespace: ns },
          spec: {
            image: rn.image,
            database: DATABASE,
            storage_size: "1Gi",
            passwordSecretRef: { name: "db-root", key: "root-password" },
          },
        };
        try {
          await kubectlApply(ctx, {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "db-root", namespace: ns },
            stringData: { "root-password": ROOT_PASSWORD },
          });
          await kubectlApply(ctx, spec);
          const first = await waitCondition(ctx, ns, NAME, "Ready", "True", undefined, 240_000);
          uids.push(first.metadata.uid);
          await sql(
            ctx,
            ns,
            "CREATE TABLE t (writer VARCHAR(20) NOT NULL, n INT NOT NULL, PRIMARY KEY (writer, n)) ENGINE=InnoDB;\n" +
              `CREATE USER 'app'@'%' IDENTIFIED BY '${APP_PASSWORD}';\nGRANT ALL ON ${DATABASE}.* TO 'app'@'%';\n`,
          );
          // Through the Service, as the applications in the cluster would (kube-proxy on the real node routes it).
          const host =
            (await kubectl(ctx, "get", "service", NAME, "-n", ns, "-o", "jsonpath={.spec.clusterIP}"))
              .trim();
          const writers = WRITERS.map((name) =>
            startInserter({
              name,
              host,
              port: 3306,
              user: name,
              password: name === "root" ? ROOT_PASSWORD : APP_PASSWORD,
              database: DATABASE,
              table: "t",
            })
          );
          let stats: InserterStats[] = [];
          let deletedAt = 0;
          try {
            await waitFor(
              "both clients to have rows acknowledged",
              () => writers.every((w) => w.acked.length >= 50),
            );
            deletedAt = Date.now();
            await kubectl(ctx, "delete", "mysql", NAME, "-n", ns, "--wait=false");
            await waitFor(
              "the MySQL object to be gone",
              async () => !(await getMySQL(ctx, ns, NAME)),
              240_000,
              500,
            );
          } finally {
            stats = await Promise.all(writers.map((w) => w.stop()));
          }
          const ackedDuringDeletion = writers.map((w) => w.acked.filter((a) => a.at >= deletedAt).length);
          for (const [i, name] of WRITERS.entries()) {
            console.error(
              `[final-state] ${name}: ${stats[i].acked.length} acknowledged (${
                ackedDuringDeletion[i]
              } after the ` +
                `delete), ${stats[i].unacked.length} not, ${
                  stats[i].connections
                } connections; last errors: ` +
                JSON.stringify(stats[i].errors.slice(-3)),
            );
          }
          // The race was real: the applications kept writing after the delete until the backup stopped them.
          assert(
            ackedDuringDeletion.every((n) => n > 0),
            `rows acknowledged after the delete: ${ackedDuringDeletion}`,
          );
          assert(
            stats.every((s) => s.errors.some((e) => /read-only/.test(e))),
            `both clients were refused as read-only: ${JSON.stringify(stats.map((s) => s.errors))}`,
          );

          // The final backup said it was taken read-only (the operator's event; the Job is gone by now).
          const events = JSON.parse(
            await kubectl(
              ctx,
              "get",
              "events",
              "-n",
              ns,
              "--field-selector",
              `involvedObject.uid=${first.metadata.uid}`,
              "-o",
              "json",
            ),
          ).items as Array<{ reason: string; message: string }>;
          const succeeded = events.filter((e) => e.reason === "BackupSucceeded");
          assert(
            succeeded.some((e) =>
              e.message.startsWith("final backup ") && e.message.includes("taken read-only")
            ),
            `BackupSucceeded event of the final backup, taken read-only: ${JSON.stringify(events)}`,
          );

          // Re-created with the same name: the restore loads the final backup, and every acknowledged row is there.
          await kubectlApply(ctx, spec);
          const second: MySQL = await waitCondition(ctx, ns, NAME, "Ready", "True", undefined, 240_000);
          uids.push(second.metadata.uid);
          assertEquals(second.status?.restore?.result, "Restored", JSON.stringify(second.status?.restore));
          const rows = new Set(
            (await sql(ctx, ns, "SELECT CONCAT(writer, ':', n) FROM t")).trim().split("\n"),
          );
          for (const [i, name] of WRITERS.entries()) {
            const missing = stats[i].acked.filter((n) => !rows.has(`${name}:${n}`));
            assertEquals(
              missing,
              [],
              `${name}: acknowledged rows missing after the restore (${missing.length})`,
            );
          }
          console.error(`[final-state] ${rows.size} rows restored; every acknowledged row is among them`);
        } finally {
          // Leave nothing behind: no final backup for the test's second incarnation.
          await deleteWithoutFinalBackup(ctx, ns, NAME);
        }
      },
    );
  } finally {
    await removeTestVolumes(rn, namespace, NAME, uids);
  }
}

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
import { kubectl, kubectlWithStdin, waitFor } from "./_clusters.ts";
import { getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { withOperator } from "./_operator.ts";
import { ensureRealNodeCluster, type RealNodeCluster } from "./_real_node.ts";
import { type InserterStats, startInserter } from "./_inserter.ts";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import { childNames } from "../templates/names.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HOSTPATH_ROOT = "/tmp/hostpath_pv";
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
  const crd = await Deno.readTextFile(`${ROOT}deploy/crd.yaml`);
  await kubectlWithStdin(rn.context, crd, "apply", "--server-side", "--force-conflicts", "-f", "-");
  await kubectl(
    rn.context,
    "wait",
    "--for=condition=Established",
    "crd/mysqls.otus.homework",
    "--timeout=60s",
  );
  Deno.test({
    name: "real node: rows acknowledged while the object is deleted are all back after re-creation; " +
      "the final backup was taken read-only",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => finalState(rn),
  });
}

/** SQL as root over the mysqld pod's unix socket (root@localhost uses unix_socket auth: no password). */
function sql(ctx: string, ns: string, statements: string): Promise<string> {
  return kubectlWithStdin(
    ctx,
    statements,
    "exec",
    "-i",
    "-n",
    ns,
    `deploy/${NAME}`,
    "-c",
    "mysql",
    "--",
    "mariadb",
    "--protocol=socket",
    "-u",
    "root",
    "--batch",
    "--skip-column-names",
    DATABASE,
  );
}

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
          if (await getMySQL(ctx, ns, NAME)) {
            await kubectl(
              ctx,
              "annotate",
              "mysql",
              NAME,
              "-n",
              ns,
              `${ANNOTATIONS.skipFinalBackup}=true`,
              "--overwrite",
            );
            await kubectl(ctx, "delete", "mysql", NAME, "-n", ns, "--wait=false");
            await waitFor("the object to be gone", async () => !(await getMySQL(ctx, ns, NAME)), 120_000, 500)
              .catch((e) => console.error(`cleanup: ${e.message}`));
          }
        }
      },
    );
  } finally {
    await removeVolumes(rn, namespace, uids);
  }
}

/**
 * Deletes the test namespace's PVs (the backup volume outlives everything by design) and the host folders of the
 * volumes the test made: those of PVs still there, and the data folders of both incarnations (the operator deletes
 * a data PV after the final backup, but a hostPath folder stays on the node).
 */
async function removeVolumes(rn: RealNodeCluster, ns: string, uids: string[]): Promise<void> {
  if (!ns) return;
  const pvs = JSON.parse(
    await kubectl(rn.context, "get", "pv", "-l", `otus.homework/namespace=${ns}`, "-o", "json"),
  ).items as Array<{ metadata: { name: string } }>;
  if (pvs.length) {
    await kubectl(rn.context, "delete", "pv", ...pvs.map((p) => p.metadata.name), "--wait=false");
  }
  const names = new Set(pvs.map((p) => p.metadata.name));
  names.add(childNames({ namespace: ns, name: NAME }).backupPV);
  for (const uid of uids) names.add(childNames({ namespace: ns, name: NAME, uid }).dataPV);
  for (const pv of names) {
    // Only the operator's folders of this test's objects (their names carry a hash of the namespace).
    if (/^mysql-[a-z0-9-]+$/.test(pv)) {
      await Deno.remove(`${HOSTPATH_ROOT}/${pv}`, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * Backups in an object store on the REAL node (real kubelet, real mysqld from the local MariaDB image with rclone,
 * real backup and restore Jobs; tests/_real_node.ts) and a REAL S3 server (versitygw, listening on the pod
 * network's gateway so the pods reach it): the backup outlives the namespace.
 *
 * The command sequence (what a user does):
 *   kubectl apply -f s3-keys.yaml -f db-root.yaml -f mysql.yaml    # spec.backup.objectStore → restore finds
 *                                                                 # nothing in the store → Ready, empty
 *   (as root over the socket) CREATE TABLE ...; INSERT ...         # the application's rows
 *   kubectl annotate mysql shop otus.homework/backup-now=1         # a backup streams to the store
 *   INSERT ...                                                     # more rows after that backup
 *   kubectl delete mysql shop                                      # the final backup goes to the store first
 *   kubectl delete namespace <ns>                                  # the namespace, claims and all, is gone
 *   kubectl create namespace <ns>; kubectl apply -f (the same three)  # restore from the store → Ready
 *   CHECKSUM TABLE ...                                             # the rows of the final backup are back
 *   (in another namespace) a MySQL with spec.restoreFrom naming it # a copy made from its newest backup
 *
 * Checked on the store's side as well: the bucket holds the instance's backups under
 * `<prefix>/<cluster>/<namespace>/<name>/`, each with its manifest; the store's secret is in no log or event.
 * Skipped, with the reason printed, only where a real node cannot run (not Linux, not root, no cgroups).
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { freshNamespace, kubectl, waitFor } from "./_clusters.ts";
import { deleteWithoutFinalBackup, getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { startOperatorProcess } from "./_operator.ts";
import {
  ensureRealNodeCluster,
  installCRD,
  type RealNodeCluster,
  removeTestVolumes,
  socketSql,
  waitServiceRoutes,
} from "./_real_node.ts";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import { childNames, storeClusterName } from "../templates/names.ts";
import { startObjectStore } from "../tools/objstore/versitygw.ts";
import { POD_GATEWAY } from "../tools/real_node/paths.ts";
import { S3Bucket } from "../storage/s3.ts";
import { objectStoreSpec, storeKeysSecret } from "./_manifest.ts";
import { instancePrefix } from "../storage/catalog.ts";
import { readCatalog } from "../storage/store_backups.ts";

const NAME = "shop";
const COPY = "shop-copy";
const DATABASE = "shop_db";
const ROOT_PASSWORD = "RootStore42";

const rn = await ensureRealNodeCluster();
if ("skip" in rn) {
  console.warn(`SKIPPED tests/real_node_store_test.ts: ${rn.skip}`);
  Deno.test({ name: `real node: object store (skipped: ${rn.skip})`, ignore: true, fn() {} });
} else {
  await installCRD(rn.context);
  Deno.test({
    name: "real node: backups stream to a real S3 store; after the namespace is deleted and re-created the " +
      "instance restores the final backup from the store",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => storeRoundTrip(rn),
  });
}

/** SQL as root over the unix socket of instance `name`'s mysqld pod. */
const sql = (ctx: string, ns: string, statements: string, name = NAME) =>
  socketSql(ctx, ns, name, DATABASE, statements);

const checksum = async (ctx: string, ns: string, name = NAME) =>
  (await sql(ctx, ns, "CHECKSUM TABLE orders EXTENDED", name)).trim().split("\t")[1];

async function storeRoundTrip(rn: RealNodeCluster): Promise<void> {
  const ctx = rn.context;
  const dir = await Deno.makeTempDir({ prefix: "real-node-store-" });
  // On the bridge's address: the host and the pods reach it alike.
  const store = await startObjectStore(`${dir}/s3`, { buckets: ["backups"], hostname: POD_GATEWAY });
  const bucket = new S3Bucket({ ...store, bucket: "backups" });
  const ns = await freshNamespace(ctx, "store");
  const copyNs = await freshNamespace(ctx, "store-copy");
  const args = [
    "--kubeconfig",
    rn.kubeconfig,
    "--context",
    ctx,
    "--namespace",
    ns.name,
    "--namespace",
    copyNs.name,
    "--lease-duration-seconds",
    "4",
    "--image-pull-policy",
    "IfNotPresent",
  ];
  const op = await startOperatorProcess(args);
  const uids: string[] = [];
  const objects = [
    storeKeysSecret(ns.name, store),
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db-root", namespace: ns.name },
      stringData: { password: ROOT_PASSWORD },
    },
    {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: NAME, namespace: ns.name },
      spec: {
        image: rn.image,
        database: DATABASE,
        storage_size: "1Gi",
        passwordSecretRef: { name: "db-root" },
        backup: {
          objectStore: objectStoreSpec(store, "e2e"),
        },
      },
    },
  ];
  const prefix = instancePrefix("e2e", storeClusterName(ctx), ns.name, NAME);
  try {
    for (const o of objects) await kubectlApply(ctx, o);
    const first: MySQL = await waitCondition(ctx, ns.name, NAME, "Ready", "True", undefined, 240_000);
    uids.push(first.metadata.uid);
    assertEquals(first.status?.restore?.result, "NothingToRestore", JSON.stringify(first.status?.restore));
    await sql(
      ctx,
      ns.name,
      "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;\n" +
        "INSERT INTO orders SELECT seq, CONCAT('order ', seq) FROM seq_1_to_5000;\n",
    );

    // A backup on request: streamed to the store, listed there with its manifest. It is the first to connect
    // through the new Service (the restore found nothing without connecting), and it is not retried.
    await waitServiceRoutes(first.status!.serviceIP!);
    await kubectl(ctx, "annotate", "mysql", NAME, "-n", ns.name, `${ANNOTATIONS.backupNow}=1`, "--overwrite");
    await waitFor(
      "the requested backup to be recorded",
      async () => {
        const m = await getMySQL(ctx, ns.name, NAME);
        return m?.status?.backupNowHandled === "1" && Boolean(m.status.lastBackupTime);
      },
      180_000,
      500,
    );
    const afterBackup = await readCatalog(bucket, prefix);
    assertEquals(afterBackup.backups.map((b) => b.manifest.seq), [1]);
    assertEquals(afterBackup.backups[0].manifest.instanceId, `${ns.name}/${NAME}`);
    const claim = JSON.parse(
      await kubectl(
        ctx,
        "get",
        "pvc",
        childNames({ namespace: ns.name, name: NAME }).backupPVC,
        "-n",
        ns.name,
        "-o",
        "json",
      ),
    );
    assertEquals(claim.metadata.annotations?.[ANNOTATIONS.lastBackupTime], undefined, "backup claim marked");

    // More rows, then the deletion: the final backup holds them.
    await sql(ctx, ns.name, "INSERT INTO orders SELECT seq, CONCAT('late ', seq) FROM seq_5001_to_6000;\n");
    const final = await checksum(ctx, ns.name);
    await kubectl(ctx, "delete", "mysql", NAME, "-n", ns.name, "--wait=false");
    await waitFor(
      "the MySQL object to be gone",
      async () => !(await getMySQL(ctx, ns.name, NAME)),
      240_000,
      500,
    );
    const afterDelete = await readCatalog(bucket, prefix);
    assertEquals(afterDelete.backups.map((b) => b.manifest.seq), [2, 1]);
    assertEquals(afterDelete.backups[0].manifest.fields.reason, "final");

    // The namespace goes (claims and the backup volume's claim with it), and comes back with the same objects.
    await kubectl(ctx, "delete", "namespace", ns.name, "--wait=true", "--timeout=180s");
    await kubectl(ctx, "create", "namespace", ns.name);
    for (const o of objects) await kubectlApply(ctx, o);
    const second: MySQL = await waitCondition(ctx, ns.name, NAME, "Ready", "True", undefined, 300_000);
    uids.push(second.metadata.uid);
    assertEquals(second.status?.restore?.result, "Restored", JSON.stringify(second.status?.restore));
    assertEquals(
      second.status?.restore?.verifiedTables,
      1,
      "the final backup's table sums, compared after the load",
    );
    assert(
      second.status?.restore?.backup?.endsWith(`/${afterDelete.backups[0].manifest.file}`),
      `restored ${second.status?.restore?.backup}, not the final backup ${
        afterDelete.backups[0].manifest.file
      }`,
    );
    assertEquals(await checksum(ctx, ns.name), final, "the rows of the final backup");
    assertEquals((await sql(ctx, ns.name, "SELECT COUNT(*) FROM orders")).trim(), "6000");

    // Another instance, in another namespace, made from this one's backup: restoreFrom names the source (its
    // cluster spelled out, as it would be for another cluster sharing the store).
    const [keys, password, mysql] = objects as [Record<string, unknown>, Record<string, unknown>, MySQL];
    const inCopy = (o: Record<string, unknown>) => ({
      ...o,
      metadata: { ...(o.metadata as object), namespace: copyNs.name },
    });
    await kubectlApply(ctx, inCopy(keys));
    await kubectlApply(ctx, inCopy(password));
    await kubectlApply(ctx, {
      ...inCopy(mysql as unknown as Record<string, unknown>),
      metadata: { name: COPY, namespace: copyNs.name },
      spec: { ...mysql.spec, restoreFrom: { cluster: ctx, namespace: ns.name, name: NAME } },
    });
    const copy: MySQL = await waitCondition(ctx, copyNs.name, COPY, "Ready", "True", undefined, 300_000);
    uids.push(copy.metadata.uid);
    assertEquals(copy.status?.restore?.result, "Restored", JSON.stringify(copy.status?.restore));
    assert(
      copy.status?.restore?.backup?.endsWith(`/${ns.name}/${NAME}/${afterDelete.backups[0].manifest.file}`),
      `the copy restored ${copy.status?.restore?.backup}`,
    );
    assertEquals(await checksum(ctx, copyNs.name, COPY), final, "the copy has the source's rows");

    // The store's secret reached only the Jobs' environment: not the operator's log, not an event.
    const events = await kubectl(ctx, "get", "events", "-n", ns.name, "-o", "json");
    assert(!events.includes(store.secretAccessKey), "the store's secret in an event");
    assert(!(await op.logs()).includes(store.secretAccessKey), "the store's secret in the operator's log");
  } catch (err) {
    console.error(`--- operator log (store) ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    for (const [n, name] of [[ns.name, NAME], [copyNs.name, COPY]]) {
      await deleteWithoutFinalBackup(ctx, n, name);
    }
    await op.stop();
    await ns.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
    await copyNs.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
    await removeTestVolumes(rn, ns.name, NAME, uids);
    await removeTestVolumes(rn, copyNs.name, COPY, uids);
    await store.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

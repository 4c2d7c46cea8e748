/**
 * `mysql-operator migrate` on the REAL node (real kubelet, real mysqld, real Jobs; tests/_real_node.ts) through a
 * REAL S3 server (versitygw on the pod network's gateway), from one namespace to another (one real node per
 * machine: the route is a context and namespace either way, and the store path names the cluster):
 *
 *   a client keeps inserting rows into the source while migrate runs     # acknowledged = the INSERT returned 0
 *   mysql-operator migrate --from CTX/NS/shop --to CTX/NS2 --delete-source, killed (SIGKILL) once at each step
 *   — after asking for the read-only backup, while creating the target, while the target restores, while the
 *   source is deleted — and run again each time; then once more after the end
 *
 * Checked: every acknowledged row is in the target and the target's tables equal the frozen source's (count and
 * CHECKSUM TABLE), its restore Job verified the manifest's sums; one target, one migration backup and one final
 * backup in the store however often migrate was killed; writes after the freeze were refused, never acknowledged;
 * the source is gone through its guarded deletion (a final backup); a run after the end changes nothing.
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { freshNamespace, kubectl, waitFor } from "./_clusters.ts";
import { deleteWithoutFinalBackup, getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { mainProcessKilledAt, startOperatorProcess } from "./_operator.ts";
import {
  ensureRealNodeCluster,
  installCRD,
  type RealNodeCluster,
  removeTestVolumes,
  socketSql,
} from "./_real_node.ts";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import { storeClusterName } from "../templates/names.ts";
import { startObjectStore } from "../tools/objstore/versitygw.ts";
import { POD_GATEWAY } from "../tools/real_node/paths.ts";
import { S3Bucket } from "../storage/s3.ts";
import { objectStoreSpec, storeKeysSecret } from "./_manifest.ts";
import { instancePrefix } from "../storage/catalog.ts";
import { readCatalog } from "../storage/store_backups.ts";

const NAME = "shop";
const DATABASE = "shop_db";

const rn = await ensureRealNodeCluster();
if ("skip" in rn) {
  console.warn(`SKIPPED tests/real_node_migrate_test.ts: ${rn.skip}`);
  Deno.test({ name: `real node: migrate (skipped: ${rn.skip})`, ignore: true, fn() {} });
} else {
  await installCRD(rn.context);
  Deno.test({
    name:
      "real node: migrate, killed at every step and run again, moves every acknowledged row to the target " +
      "and deletes the source through its final backup",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => migrateRoundTrip(rn),
  });
}

/** A client inserting one row per statement (a new connection each, over mysqld's socket) until stopped. */
function startWriter(ctx: string, ns: string) {
  const acked: number[] = [], refused: string[] = [];
  let stopping = false;
  const running = (async () => {
    for (let n = 100_000; !stopping; n++) {
      try {
        await socketSql(ctx, ns, NAME, DATABASE, `INSERT INTO orders VALUES (${n}, 'live');\n`);
        acked.push(n);
      } catch (err) {
        refused.push(String(err).slice(-300)); // the server's error comes last
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    acked,
    refused,
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

async function migrateRoundTrip(rn: RealNodeCluster): Promise<void> {
  const ctx = rn.context;
  const dir = await Deno.makeTempDir({ prefix: "real-node-migrate-" });
  const store = await startObjectStore(`${dir}/s3`, { buckets: ["backups"], hostname: POD_GATEWAY });
  const bucket = new S3Bucket({ ...store, bucket: "backups" });
  const ns = await freshNamespace(ctx, "migrate-from");
  const to = await freshNamespace(ctx, "migrate-to");
  const op = await startOperatorProcess([
    ...["--kubeconfig", rn.kubeconfig, "--context", ctx, "--namespace", ns.name, "--namespace", to.name],
    ...["--lease-duration-seconds", "4", "--image-pull-policy", "IfNotPresent"],
  ]);
  const sql = (n: string, statements: string) => socketSql(ctx, n, NAME, DATABASE, statements);
  const uids: string[] = [];
  const migrate = (until?: RegExp) =>
    mainProcessKilledAt(
      until,
      ...["migrate", "--kubeconfig", rn.kubeconfig, "--from", `${ctx}/${ns.name}/${NAME}`],
      ...["--to", `${ctx}/${to.name}`, "--delete-source", "--timeout-seconds", "600"],
    );
  let writer: ReturnType<typeof startWriter> | undefined;
  let frozen = "";
  try {
    await kubectlApply(ctx, storeKeysSecret(ns.name, store));
    await kubectlApply(ctx, {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: NAME, namespace: ns.name },
      spec: {
        image: rn.image,
        database: DATABASE,
        password: "RootMigrate42",
        storage_size: "1Gi",
        backup: {
          objectStore: objectStoreSpec(store, "e2e"),
        },
      },
    });
    const source: MySQL = await waitCondition(ctx, ns.name, NAME, "Ready", "True", undefined, 240_000);
    uids.push(source.metadata.uid);
    await sql(
      ns.name,
      "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;\n" +
        "INSERT INTO orders SELECT seq, CONCAT('order ', seq) FROM seq_1_to_3000;\n",
    );
    const w = writer = startWriter(ctx, ns.name);
    await waitFor("the client to have rows acknowledged", () => w.acked.length >= 5, 60_000);

    // Killed at each step, each run continues from what the objects say.
    const runs = [];
    for (
      const step of [/asked .* for a read-only backup/, /^migrate: creating /, /to restore/, /deleting /]
    ) {
      const r = await migrate(step);
      runs.push(r);
      console.log(`run killed at ${step}:\n${r.stdout}`);
      assert(r.killed, `migrate ended (${r.code}) before printing ${step}:\n${r.stdout}\n${r.stderr}`);
      if (step.source.startsWith("^migrate: creating")) {
        // The read-only backup is done: the client's later writes were refused, none acknowledged.
        const stopped = w.acked.length;
        await waitFor("a write to be refused as read-only", () => w.refused.length > 0, 60_000);
        await w.stop();
        assertEquals(w.acked.length, stopped, "a write acknowledged after the read-only backup");
        assert(w.refused.some((e) => /read-only/.test(e)), w.refused.join("\n"));
        frozen = await sql(ns.name, "SELECT COUNT(*) FROM orders; CHECKSUM TABLE orders EXTENDED;\n");
      }
    }
    const last = await migrate();
    assertEquals(last.code, 0, `${last.stdout}\n${last.stderr}`);
    assert(/1 tables match/.test(last.stdout), last.stdout);
    const again = await migrate();
    assertEquals([again.code, /the source is deleted/.test(again.stdout)], [0, true], again.stdout);

    // The target: every acknowledged row, the same table as the frozen source, verified by its restore Job.
    const target = await waitCondition(ctx, to.name, NAME, "Ready", "True", undefined, 60_000);
    uids.push(target.metadata.uid);
    assertEquals(target.metadata.annotations?.[ANNOTATIONS.migratedFrom], `${ctx}/${ns.name}/${NAME}`);
    assertEquals([target.status?.restore?.result, target.status?.restore?.verifiedTables], ["Restored", 1]);
    const ids = new Set((await sql(to.name, "SELECT id FROM orders WHERE id >= 100000;\n")).split("\n"));
    const lost = w.acked.filter((n) => !ids.has(String(n)));
    assertEquals(lost, [], "acknowledged rows missing from the target");
    const count = (await sql(to.name, "SELECT COUNT(*) FROM orders;\n")).trim();
    assertEquals(count, String(3000 + w.acked.length));
    assertEquals(
      await sql(to.name, "SELECT COUNT(*) FROM orders; CHECKSUM TABLE orders EXTENDED;\n"),
      frozen,
      "row count and CHECKSUM TABLE of the target and the frozen source",
    );
    const targets = JSON.parse(await kubectl(ctx, "get", "mysqls", "-n", to.name, "-o", "json")).items;
    assertEquals(targets.length, 1, "one target however often migrate was killed");

    // The source went through its guarded deletion; the store has one migration backup and one final backup.
    assertEquals(await getMySQL(ctx, ns.name, NAME), undefined);
    const catalog = await readCatalog(bucket, instancePrefix("e2e", storeClusterName(ctx), ns.name, NAME));
    assertEquals(catalog.backups.map((b) => b.manifest.reason).sort(), ["final", "migrate"]);
    console.log(`migrate: ${runs.length} killed runs, then done; ${w.acked.length} rows written live`);
  } catch (err) {
    console.error(`--- operator log (migrate) ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    await writer?.stop();
    for (const n of [ns.name, to.name]) await deleteWithoutFinalBackup(ctx, n, NAME);
    await op.stop();
    await ns.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
    await to.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
    await removeTestVolumes(rn, ns.name, NAME, uids);
    await removeTestVolumes(rn, to.name, NAME, uids);
    await store.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

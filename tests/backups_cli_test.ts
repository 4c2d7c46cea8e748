/**
 * `mysql-operator backups` as users run it (main.ts as a separate process with the operator's permissions) against
 * two real control planes and a real S3 server (versitygw): what it lists is exactly the complete backups the
 * store holds under the prefix the objects name — instances of another cluster and of a cluster that is gone
 * included, a half-written upload and other prefixes not — plus the newest recorded backup of an instance on the
 * backup volume; a store whose keys cannot be read is an error (exit 1) that leaves the other rows shown.
 */
import { assert, assertEquals } from "./_assert.ts";
import { freshNamespace, kubectl } from "./_clusters.ts";
import { clustersWithCRD, kubectlApply } from "./_k8s.ts";
import { mainProcess } from "./_operator.ts";
import { startObjectStore } from "../tools/objstore/versitygw.ts";
import { S3Bucket } from "../storage/s3.ts";
import { instancePrefix } from "../storage/catalog.ts";
import { publishBackup } from "../storage/store_backups.ts";
import type { BackupRow } from "../cli/backups_list.ts";
import { manifestText } from "./_manifest.ts";

const { kubeconfig, contexts } = await clustersWithCRD(2);
const [east, west] = contexts;

/** `mysql-operator backups --kubeconfig <the tests' kubeconfig> ...args`, as the binary runs it. */
const backups = (...args: string[]) => mainProcess("backups", "--kubeconfig", kubeconfig, ...args);

Deno.test("backups: every complete backup under the objects' store prefix (other and deleted clusters too) and the volume's newest; a store without readable keys is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "backups-cli-" });
  const server = await startObjectStore(`${dir}/s3`, { buckets: ["backups"] });
  const bucket = new S3Bucket({ ...server, bucket: "backups" });
  const nsEast = await freshNamespace(east, "backups-cli");
  const nsWest = await freshNamespace(west, "backups-cli");
  const nsBroken = await freshNamespace(west, "backups-cli-broken");
  try {
    const dump = new TextEncoder().encode("-- a dump\n-- Dump completed\n");
    const publish = (prefix: string, instance: string, seq: number, time: string) => {
      const stem = `${instance.replace("/", "_")}-${seq}`;
      const text = manifestText({ instance, stem, seq, bytes: dump.length, time, sha256: "0".repeat(64) });
      return publishBackup(bucket, prefix, stem, dump, text);
    };
    const eastDb = instancePrefix("team", east, nsEast.name, "db");
    await publish(eastDb, `${nsEast.name}/db`, 1, "2026-12-01T10:00:00Z");
    await publish(eastDb, `${nsEast.name}/db`, 2, "2026-12-03T10:00:00Z");
    await publish(
      instancePrefix("team", west, nsWest.name, "shop"),
      `${nsWest.name}/shop`,
      1,
      "2026-12-02T10:00:00Z",
    );
    // A cluster that is gone: its instance's backups outlive it.
    await publish(
      instancePrefix("team", "gone-cluster", "prod", "old"),
      "prod/old",
      7,
      "2026-11-30T10:00:00Z",
    );
    // Not listed: a half-written upload, and another prefix of the bucket.
    await bucket.put(`${eastDb}${nsEast.name}_db-3.sql`, dump);
    await publish(instancePrefix("other-team", east, "x", "y"), "x/y", 1, "2026-12-04T10:00:00Z");

    const store = (secret: Record<string, string>) => ({
      endpoint: server.endpoint,
      bucket: "backups",
      prefix: "team",
      region: server.region,
      credentialsSecretRef: secret,
    });
    const mysql = (ns: string, name: string, backup: Record<string, unknown> = {}) => ({
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name, namespace: ns },
      spec: { image: "mysql:8.4", database: "otus", password: "pw", storage_size: "1Gi", backup },
    });
    await kubectlApply(east, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3-keys", namespace: nsEast.name },
      stringData: { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey },
    });
    await kubectlApply(east, mysql(nsEast.name, "db", { objectStore: store({ name: "s3-keys" }) }));
    // The same store from the other cluster, its keys under other names.
    await kubectlApply(west, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "store", namespace: nsWest.name },
      stringData: { id: server.accessKeyId, secret: server.secretAccessKey },
    });
    await kubectlApply(
      west,
      mysql(nsWest.name, "shop", {
        objectStore: store({ name: "store", accessKeyIdKey: "id", secretAccessKeyKey: "secret" }),
      }),
    );
    // An instance on the backup volume, its newest backup recorded in status.
    await kubectlApply(east, mysql(nsEast.name, "vol"));
    await kubectl(
      east,
      "patch",
      "mysql",
      "vol",
      "-n",
      nsEast.name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: { lastBackupTime: "2026-12-02T12:00:00Z", lastBackup: `${nsEast.name}_vol/v.sql` },
      }),
    );

    const run = await backups(
      "--context",
      east,
      "--context",
      west,
      "--namespace",
      nsEast.name,
      "--namespace",
      nsWest.name,
      "-o",
      "json",
    );
    assertEquals(run.code, 0, run.stderr);
    const { items, errors } = JSON.parse(run.stdout) as { items: BackupRow[]; errors: unknown[] };
    assertEquals(errors, []);
    // The store's rows are exactly the bucket's complete dumps under the prefix: a dump whose manifest is beside it.
    const keys = (await bucket.list("team/")).map((o) => o.key);
    const complete = keys.filter((k) =>
      k.endsWith(".sql") && keys.includes(k.replace(/\.sql$/, ".manifest"))
    );
    assertEquals(items.filter((r) => r.target !== "volume").map((r) => r.file).sort(), complete.sort());
    assertEquals(
      items.map((r) => `${r.time} ${r.cluster} ${r.instance} ${r.target === "volume" ? "volume" : "store"}`),
      [
        `2026-12-03T10:00:00Z ${east} ${nsEast.name}/db store`,
        `2026-12-02T12:00:00Z ${east} ${nsEast.name}/vol volume`,
        `2026-12-02T10:00:00Z ${west} ${nsWest.name}/shop store`,
        `2026-12-01T10:00:00Z ${east} ${nsEast.name}/db store`,
        "2026-11-30T10:00:00Z gone-cluster prod/old store",
      ],
    );
    assert(!run.stdout.includes(server.secretAccessKey), "the store's secret in the output");

    // A store whose Secret is missing: an error naming it, exit 1, the other rows still there.
    await kubectlApply(
      west,
      mysql(nsBroken.name, "lost", { objectStore: { ...store({ name: "nope" }), prefix: "lost" } }),
    );
    const broken = await backups(
      "--context",
      east,
      "--context",
      west,
      "-o",
      "json",
      "--namespace",
      nsEast.name,
      "--namespace",
      nsWest.name,
      "--namespace",
      nsBroken.name,
    );
    assertEquals(broken.code, 1, broken.stderr);
    const out = JSON.parse(broken.stdout) as {
      items: BackupRow[];
      errors: Array<{ where: string; error: string }>;
    };
    assertEquals(out.items.length, 5);
    assert(
      out.errors.some((e) =>
        e.where.endsWith("/backups/lost") && e.error.includes(`Secret ${nsBroken.name}/nope`)
      ),
      JSON.stringify(out.errors),
    );
    // The table says the same.
    const tableRun = await backups("--context", east, "--namespace", nsEast.name);
    assertEquals(tableRun.code, 0, tableRun.stderr);
    assert(tableRun.stdout.startsWith("TIME"), tableRun.stdout);
    assert(
      tableRun.stdout.includes(`${nsEast.name}/db`) && tableRun.stdout.includes("gone-cluster"),
      tableRun.stdout,
    );
  } finally {
    await Promise.all([nsEast.cleanup(), nsWest.cleanup(), nsBroken.cleanup()]).catch(() => {});
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

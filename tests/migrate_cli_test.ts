/**
 * `mysql-operator migrate` across two real control planes, as users run it (main.ts as a separate process): the
 * test plays the operator's part by writing what it would into the objects' status (the read-only backup done,
 * the restore verified), so that every hand-over between the two clusters is checked on the API servers' state:
 * the request lands on the source, the target is made in the other cluster with the source's spec and
 * `restoreFrom` naming the source's cluster folder, the store's Secret is copied and an existing Secret is never
 * written, the source is deleted only once the target says it restored that backup, a re-run after the end
 * changes nothing, and a same-named object in the target that a migration did not make is never touched.
 * (tests/real_node_migrate_test.ts runs the whole route with real mysqld and Jobs, killing migrate at each step.)
 */
import { assert, assertEquals } from "./_assert.ts";
import { freshNamespace, kubectl } from "./_clusters.ts";
import { clustersWithCRD, getMySQL, kubectlApply } from "./_k8s.ts";
import { mainProcess } from "./_operator.ts";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";

const { kubeconfig, contexts } = await clustersWithCRD(2);
const [east, west] = contexts;

const migrate = (...args: string[]) => mainProcess("migrate", "--kubeconfig", kubeconfig, ...args);
const patchStatus = (ctx: string, ns: string, name: string, status: unknown) =>
  kubectl(
    ctx,
    "patch",
    "mysql",
    name,
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  );
const secretOf = async (ctx: string, ns: string, name: string) =>
  JSON.parse(await kubectl(ctx, "get", "secret", name, "-n", ns, "-o", "json"));

Deno.test("migrate between two clusters: asks the source, makes the target in the other cluster, copies only missing Secrets, deletes the source only after the verified restore; never touches a target it did not make", async () => {
  const from = await freshNamespace(east, "migrate-cli");
  const to = await freshNamespace(west, "migrate-cli");
  try {
    const secret = (ns: string, name: string, data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: ns },
      stringData: data,
    });
    await kubectlApply(
      east,
      secret(from.name, "s3-keys", { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "k" }),
    );
    await kubectlApply(east, secret(from.name, "db-root", { password: "east-password" }));
    // The target namespace has its own db-root already: it is the user's, never overwritten.
    await kubectlApply(west, secret(to.name, "db-root", { password: "west-password" }));
    const spec = {
      image: "mysql:8.4",
      database: "shop_db",
      storage_size: "1Gi",
      passwordSecretRef: { name: "db-root" },
      backup: {
        retention: 3,
        objectStore: {
          endpoint: "https://s3.example:9000",
          bucket: "backups",
          prefix: "team",
          credentialsSecretRef: { name: "s3-keys" },
        },
      },
    };
    await kubectlApply(east, {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: "db", namespace: from.name, labels: { "argocd.argoproj.io/instance": "east-apps" } },
      spec,
    });
    const path = ["--from", `${east}/${from.name}/db`, "--to", `${west}/${to.name}`];
    // Runs that must stop at a step the operator has not done yet get 2 s; runs that must finish get a minute
    // (they return as soon as they are done; deleting the source takes a second round of reads).
    const route = [...path, "--timeout-seconds", "2"];
    const finishing = [...path, "--timeout-seconds", "60"];

    // 1. The request for the read-only backup lands on the source; nothing is made before it is done.
    const first = await migrate(...route);
    assertEquals(first.code, 1, `${first.stdout}\n${first.stderr}`);
    assert(/run it again to continue/.test(first.stderr), first.stderr);
    const source = (await getMySQL(east, from.name, "db")) as MySQL;
    const token = source.metadata.annotations?.[ANNOTATIONS.migrateBackup];
    assertEquals(token, `${source.metadata.uid}.1`);
    assertEquals(await getMySQL(west, to.name, "db"), undefined, "a target made before the backup");

    // 2. (The operator's part: the read-only backup done, in the source cluster's store folder.)
    const file = "db-20261204T100000Z-0a0b0c0d0e0f.sql";
    await patchStatus(east, from.name, "db", {
      migrateBackupHandled: token,
      migrateBackup: {
        token,
        backup: `backups/team/${east}/${from.name}/db/${file}`,
        time: "2026-12-04T10:00:00Z",
        tables: 2,
      },
    });
    const second = await migrate(...route);
    assertEquals(second.code, 1, `${second.stdout}\n${second.stderr}`);
    const target = (await getMySQL(west, to.name, "db")) as MySQL;
    assertEquals(target.metadata.annotations?.[ANNOTATIONS.migratedFrom], `${east}/${from.name}/db`);
    assertEquals(target.metadata.annotations?.[ANNOTATIONS.migratedFromUid], source.metadata.uid);
    assertEquals(target.metadata.labels?.["argocd.argoproj.io/instance"], undefined, "a GitOps label copied");
    assertEquals(target.spec.restoreFrom, { cluster: east, namespace: from.name, name: "db", backup: file });
    assertEquals(target.spec.backup, source.spec.backup);
    assertEquals(target.spec.passwordSecretRef, { name: "db-root" });
    const copied = await secretOf(west, to.name, "s3-keys");
    assertEquals([atob(copied.data.AWS_ACCESS_KEY_ID), atob(copied.data.AWS_SECRET_ACCESS_KEY)], ["id", "k"]);
    assertEquals(atob((await secretOf(west, to.name, "db-root")).data.password), "west-password");

    // 3. Not yet restored: the source stays, even with --delete-source.
    const waiting = await migrate(...route, "--delete-source");
    assertEquals(waiting.code, 1);
    assert(/to restore/.test(waiting.stdout), waiting.stdout);
    assert(await getMySQL(east, from.name, "db"), "the source was deleted before the target restored");

    // 4. (The operator's part: the target restored that backup; first as an operator that does not compare the
    // tables would say it, then with both tables compared.) Unverified, the source is never deleted.
    const restored = {
      result: "Restored",
      backup: `backups/team/${east}/${from.name}/db/${file}`,
      time: "2026-12-04T10:05:00Z",
    };
    await patchStatus(west, to.name, "db", { restore: restored });
    const unverified = await migrate(...route, "--delete-source");
    assertEquals(unverified.code, 1, `${unverified.stdout}\n${unverified.stderr}`);
    assert(/summed 2 tables: the source is kept/.test(unverified.stderr), unverified.stderr);
    assert(await getMySQL(east, from.name, "db"), "the source was deleted after an unverified restore");
    await patchStatus(west, to.name, "db", {
      restore: {
        result: "Restored",
        backup: `backups/team/${east}/${from.name}/db/${file}`,
        time: "2026-12-04T10:05:00Z",
        verifiedTables: 2,
      },
    });
    const kept = await migrate(...finishing);
    assertEquals(kept.code, 0, `${kept.stdout}\n${kept.stderr}`);
    assert(/2 tables match.*the source stays, read-only/.test(kept.stdout), kept.stdout);
    assert(await getMySQL(east, from.name, "db"), "deleted without --delete-source");
    const done = await migrate(...finishing, "--delete-source");
    assertEquals(done.code, 0, `${done.stdout}\n${done.stderr}`);
    assertEquals(await getMySQL(east, from.name, "db"), undefined, "the source is still there");
    const again = await migrate(...finishing, "--delete-source");
    assertEquals([again.code, /the source is deleted/.test(again.stdout)], [0, true], again.stdout);

    // A same-named object in the target that no migration made: refused, left exactly as it was.
    await kubectlApply(east, {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: "other", namespace: from.name },
      spec,
    });
    await kubectlApply(west, {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: "other", namespace: to.name },
      spec,
    });
    const before = (await getMySQL(west, to.name, "other")) as MySQL;
    const foreign = await migrate(
      "--from",
      `${east}/${from.name}/other`,
      "--to",
      `${west}/${to.name}`,
      "--delete-source",
    );
    assertEquals(foreign.code, 1);
    assert(/not made by a migration/.test(foreign.stderr), foreign.stderr);
    const after = (await getMySQL(west, to.name, "other")) as MySQL;
    assertEquals(
      after.metadata.resourceVersion,
      before.metadata.resourceVersion,
      "the foreign object was written",
    );
    const other = (await getMySQL(east, from.name, "other")) as MySQL;
    assertEquals(
      other.metadata.annotations?.[ANNOTATIONS.migrateBackup],
      undefined,
      "the source was asked anyway",
    );
  } finally {
    await from.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
    await to.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
  }
});

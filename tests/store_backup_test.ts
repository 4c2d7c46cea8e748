/**
 * The object-store backup script (templates/scripts/store_backup.sh) against a REAL MariaDB server and a REAL
 * S3-compatible server (versitygw, tools/objstore/versitygw.ts), run as a Job runs it: `sh -c "$SCRIPT"` with only
 * the contract's environment. As root it installs Debian's mariadb-server, mariadb-client and rclone when missing;
 * otherwise it is skipped with the reason.
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { STORE_BACKUP_SCRIPT } from "../templates/backup_script.ts";
import { STORE_RESTORE_SCRIPT } from "../templates/restore_script.ts";
import { parseJobReport } from "../templates/job_report.ts";
import { startObjectStore } from "../tools/objstore/versitygw.ts";
import { exists } from "../tools/real_node/host.ts";
import { type PendingUpload, S3Bucket } from "../storage/s3.ts";
import { instancePrefix, nextSeq } from "../storage/catalog.ts";
import { renderBackupJob, renderRestoreJob } from "../templates/jobs.ts";
import { mysqlObject } from "../templates/testing.ts";
import { DEFAULT_RENDER_OPTIONS } from "../templates/options.ts";
import { SECRET_PASSWORD_KEY } from "../templates/secret.ts";
import type { Job } from "../templates/k8s_types.ts";
import { prune, readCatalog } from "../storage/store_backups.ts";
import { ensureDebianPackages, ensureMariaDB, type MariaDBServer, startMariaDB, which } from "./_mariadb.ts";

const mariadb = await ensureMariaDB();
const rclone = mariadb.ok ? await ensureDebianPackages(["rclone"], ["rclone"]) : mariadb;
const availability = mariadb.ok ? rclone : mariadb;
if (!availability.ok) console.warn(`SKIPPED tests/store_backup_test.ts: ${availability.reason}`);

const PASSWORD = "pw with 'quotes' and $dollar";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ROWS = 350_000; // about 40 MB of dump: three 16 MiB parts of a multipart upload

interface Store {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Starts the store backup (or `script`) as a Job would, with the contract's environment and `env` over it. */
function spawnStoreJob(
  srv: MariaDBServer,
  store: Store,
  dir: string,
  env: Record<string, string>,
  script = STORE_BACKUP_SCRIPT,
) {
  return spawnJobScript(script, {
    PATH,
    TMPDIR: dir,
    MYSQL_HOST: "127.0.0.1",
    MYSQL_PORT: String(srv.port),
    MYSQL_USER: "root",
    MYSQL_PASSWORD: PASSWORD,
    MYSQL_DATABASE: "shop",
    INSTANCE_ID: "ns/db",
    INSTANCE_UID: "6c0f3c1e-0000-4000-8000-000000000001",
    INSTANCE_CLUSTER: "mo-test-1",
    JOB_UID: "7d1e4f2a-0000-4000-8000-000000000001",
    BACKUP_REASON: "manual",
    STORE_PATH: "backups/mo/mo-test-1/ns/db",
    RCLONE_CONFIG: `${dir}/no-rclone.conf`,
    RCLONE_CONFIG_STORE_TYPE: "s3",
    RCLONE_CONFIG_STORE_PROVIDER: "Other",
    RCLONE_CONFIG_STORE_ENV_AUTH: "false",
    RCLONE_CONFIG_STORE_ENDPOINT: store.endpoint,
    RCLONE_CONFIG_STORE_REGION: store.region,
    RCLONE_CONFIG_STORE_ACCESS_KEY_ID: store.accessKeyId,
    RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY: store.secretAccessKey,
    ...env,
  }, dir);
}

/** Starts `script` as a Job would (only `env`, its own process group); `scan` collects every command line seen. */
function spawnJobScript(script: string, env: Record<string, string>, dir: string) {
  const report = `${dir}/termination-log-${crypto.randomUUID()}`;
  // A process group of its own, as a container is: killing the group kills every process of the Job at once.
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", script],
    clearEnv: true,
    env: {
      ...env,
      REPORT_FILE: report,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const seen = new Set<string>();
  let running = true;
  const scan = (async () => {
    while (running) {
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        try {
          seen.add(Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " "));
        } catch { /* gone */ }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const done = child.output().then(async (out) => {
    running = false;
    await scan;
    const text = await Deno.readTextFile(report).catch(() => "");
    const dec = new TextDecoder();
    return { code: out.code, stderr: dec.decode(out.stderr), report: parseJobReport(text), text, seen };
  });
  return { child, done };
}

/**
 * Starts a rendered Job's script with the Job's environment as the kubelet gives it: values as they are, Secret
 * keys from `secrets` (and the password Secret the operator made from spec.password), the Job's UID from the
 * downward API; only the server's address differs (the Job reaches it through the Service).
 */
function spawnRendered(
  srv: MariaDBServer,
  dir: string,
  job: Job,
  secrets: Record<string, Record<string, string>>,
) {
  const env: Record<string, string> = {};
  for (const e of job.spec.template.spec.containers[0].env) {
    if (e.value !== undefined) env[e.name] = e.value;
    const from = e.valueFrom;
    if (from && "secretKeyRef" in from) {
      const ref = from.secretKeyRef;
      env[e.name] = ref.key === SECRET_PASSWORD_KEY ? PASSWORD : secrets[ref.name][ref.key];
    }
    if (from && "fieldRef" in from) env[e.name] = "7d1e4f2a-0000-4000-8000-000000000002";
  }
  const [, , script] = job.spec.template.spec.containers[0].command ?? [];
  return spawnJobScript(script, {
    PATH,
    TMPDIR: dir,
    ...env,
    MYSQL_HOST: "127.0.0.1",
    MYSQL_PORT: String(srv.port),
  }, dir);
}

async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

Deno.test({
  name:
    "store backup: the dump streams to a real S3 server, is read back and checked, and its manifest comes last; the rows come back from it",
  ignore: !availability.ok,
  async fn(t) {
    const srv = await startMariaDB({ rootPassword: PASSWORD });
    const root = await Deno.makeTempDir({ prefix: "store-backup-test-" });
    const store = await startObjectStore(`${root}/s3`, { buckets: ["backups"] });
    const bucket = new S3Bucket({ ...store, bucket: "backups" });
    const prefix = instancePrefix("mo", "mo-test-1", "ns", "db");
    try {
      await srv.sql("CREATE DATABASE shop");
      await srv.sql(
        "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(200));" +
          `INSERT INTO orders SELECT seq, REPEAT(CONCAT('order-', seq), 8) FROM seq_1_to_${ROWS};`,
        "shop",
      );
      const checksum = async (db: string) =>
        (await srv.sql(`CHECKSUM TABLE \`${db}\`.orders EXTENDED`)).split("\t")[1];
      const before = await checksum("shop");

      await t.step(
        "a backup: BackedUp, listed with the sequence given, the bytes and sha256 of what the store holds",
        async () => {
          const run = await spawnStoreJob(srv, store, root, {}).done;
          equal(run.code, 0, `${run.text}\n${run.stderr}`);
          equal(run.report?.result, "BackedUp", run.text);
          const c = await readCatalog(bucket, prefix);
          equal(c.backups.length, 1);
          deepStrictEqual(c.incomplete, []);
          const m = c.backups[0].manifest;
          equal(m.seq, 1);
          equal(m.instanceId, "ns/db");
          equal(m.fields.cluster, "mo-test-1");
          ok(m.bytes > 32 * 1024 * 1024, `dump of ${m.bytes} bytes`);
          if (run.report?.result === "BackedUp") equal(run.report.sha256, m.sha256);
          const stored = await Deno.readFile(`${root}/s3/backups/${c.backups[0].dumpKey}`);
          equal(await sha256Hex(stored), m.sha256);
          // Neither the database password nor the store's secret was on any command line; the scan saw rclone.
          ok([...run.seen].some((l) => l.startsWith("rclone ")), "the scan saw no rclone command line");
          for (const l of run.seen) {
            ok(
              !l.includes(store.secretAccessKey) && !l.includes("dollar"),
              `a secret on a command line: ${l}`,
            );
          }
          // The dump restores: the rows come back identical.
          const client = (await which("mariadb"))!;
          await srv.sql("CREATE DATABASE shop_restored");
          const load = new Deno.Command(client, {
            args: [`--socket=${srv.socket}`, "-uroot", "shop_restored"],
            stdin: "piped",
            stderr: "piped",
          }).spawn();
          const w = load.stdin.getWriter();
          await w.write(stored);
          await w.close();
          const res = await load.output();
          equal(res.code, 0, new TextDecoder().decode(res.stderr));
          equal(await checksum("shop_restored"), before);
        },
      );

      await t.step(
        "wrong store credentials: DownloadFailed (the folder is read first), nothing written",
        async () => {
          const run = await spawnStoreJob(srv, store, root, {
            RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY: "not-the-secret",
          }).done;
          equal(run.code, 1);
          ok(run.report?.result === "Failed" && run.report.reason === "DownloadFailed", run.text);
          ok(!run.text.includes("not-the-secret"));
          const c = await readCatalog(bucket, prefix);
          deepStrictEqual([c.backups.length, c.incomplete.length], [1, 0]);
        },
      );

      await t.step(
        "the store gives back other bytes than were sent: UploadMismatch; cannot read back: DownloadFailed; refuses the upload: UploadFailed; no manifest, nothing left",
        async () => {
          // A stand-in rclone on PATH: the real one, except that what `cat` reads back is altered.
          const bin = `${root}/altering-bin`;
          await Deno.mkdir(bin, { recursive: true });
          const real = (await which("rclone"))!;
          await Deno.writeTextFile(
            `${bin}/rclone`,
            `#!/bin/sh\nfor a in "$@"; do [ "$a" = cat ] && { '${real}' "$@" | tr o 0; exit 0; }; done\nexec '${real}' "$@"\n`,
            { mode: 0o755 },
          );
          const run = await spawnStoreJob(srv, store, root, { PATH: `${bin}:${PATH}` }).done;
          ok(run.report?.result === "Failed" && run.report.reason === "UploadMismatch", run.text);
          const c = await readCatalog(bucket, prefix);
          deepStrictEqual([c.backups.map((b) => b.manifest.seq), c.incomplete], [[1], []]);
          // A read-back that fails is not taken for other bytes: DownloadFailed, and again nothing is left.
          await Deno.writeTextFile(
            `${bin}/rclone`,
            `#!/bin/sh\nfor a in "$@"; do [ "$a" = cat ] && { echo 'read refused' >&2; exit 3; }; done\nexec '${real}' "$@"\n`,
            { mode: 0o755 },
          );
          const refused = await spawnStoreJob(srv, store, root, { PATH: `${bin}:${PATH}` })
            .done;
          ok(refused.report?.result === "Failed" && refused.report.reason === "DownloadFailed", refused.text);
          const again = await readCatalog(bucket, prefix);
          deepStrictEqual([again.backups.map((b) => b.manifest.seq), again.incomplete], [[1], []]);
          // An upload the store refuses midway: UploadFailed (not the dump's broken pipe), nothing left.
          await Deno.writeTextFile(
            `${bin}/rclone`,
            `#!/bin/sh\nfor a in "$@"; do [ "$a" = rcat ] && { head -c 1000000 >/dev/null; echo 'upload refused' >&2; exit 5; }; done\nexec '${real}' "$@"\n`,
            { mode: 0o755 },
          );
          const broken = await spawnStoreJob(srv, store, root, { PATH: `${bin}:${PATH}` }).done;
          ok(broken.report?.result === "Failed" && broken.report.reason === "UploadFailed", broken.text);
          ok(
            broken.report?.result === "Failed" && broken.report.message.includes("upload refused"),
            broken.text,
          );
          const still = await readCatalog(bucket, prefix);
          deepStrictEqual([still.backups.map((b) => b.manifest.seq), still.incomplete], [[1], []]);
        },
      );

      await t.step(
        "killed mid-upload (TERM, as a Job's deletion): no manifest; the unfinished upload is deleted",
        async () => {
          const job = spawnStoreJob(srv, store, root, {});
          await uploadUnderway(bucket, `${root}/s3`, prefix);
          Deno.kill(job.child.pid, "SIGTERM"); // the script only: the kubelet signals a container's first process
          const run = await job.done;
          ok(run.report?.result === "Failed" && run.report.reason === "Interrupted", run.text);
          const c = await readCatalog(bucket, prefix);
          deepStrictEqual(c.backups.map((b) => b.manifest.seq), [1]);
          deepStrictEqual(c.incomplete, []);
          // rclone, stopped by the script's clean-up, aborts its multipart upload: the store lists none. (Its
          // directory is not checked: a part in flight at the abort may still land there, see orphanPart.)
          await waitFor(async () => (await bucket.pendingUploads(prefix)).length === 0, 15_000);
        },
      );

      await t.step(
        "killed outright mid-upload (every process at once, no trap): never listed; retention aborts the upload",
        async () => {
          // A file under .sgwtmp that is not this upload's: CI once saw one (most likely a part of the step before,
          // written after that upload's abort), took it for this upload's, and killed the Job before it began.
          const orphan = await orphanPart(`${root}/s3`);
          const job = spawnStoreJob(srv, store, root, {});
          const upload = await uploadUnderway(bucket, `${root}/s3`, prefix);
          Deno.kill(-job.child.pid, "SIGKILL");
          await job.done;
          const c = await readCatalog(bucket, prefix);
          deepStrictEqual(c.backups.map((b) => b.manifest.seq), [1]);
          deepStrictEqual(c.incomplete, []);
          // Compared by key and id: versitygw reports an upload's `initiated` as its folder's time, which moves
          // while parts land.
          deepStrictEqual(
            (await bucket.pendingUploads(prefix)).map((u) => [u.key, u.uploadId]),
            [[upload.key, upload.uploadId]],
            "the killed upload's parts are pending",
          );
          // Within the grace period it may be an upload still running: left alone.
          deepStrictEqual(await prune(bucket, prefix, 1), []);
          const removed = await prune(bucket, prefix, 1, new Date(Date.now() + 2 * 60 * 60_000));
          equal(removed.length, 1);
          ok(removed[0].startsWith(`upload:${prefix}`), removed[0]);
          // The store's own answer, not its folder: a part whose bytes were all sent before the kill may still be
          // written after the abort (see orphanPart), and only the store's listing tells what it keeps.
          deepStrictEqual(await bucket.pendingUploads(prefix), []);
          ok(await exists(orphan), "the part the store left behind is not the operator's to remove");
          deepStrictEqual((await readCatalog(bucket, prefix)).backups.map((b) => b.manifest.seq), [1]);
        },
      );

      await t.step(
        "restore into an empty database: the rows come back, the backup named in the report",
        async () => {
          const run = await spawnStoreJob(
            srv,
            store,
            root,
            { MYSQL_DATABASE: "shop_r1" },
            STORE_RESTORE_SCRIPT,
          ).done;
          equal(run.code, 0, `${run.text}\n${run.stderr}`);
          ok(run.report?.result === "Restored", run.text);
          equal(await checksum("shop_r1"), before);
          for (const l of run.seen) {
            ok(!l.includes(store.secretAccessKey), `the store's secret on a command line: ${l}`);
          }
        },
      );

      await t.step(
        "a newer backup whose dump does not match its manifest is skipped and named; the older one loads",
        async () => {
          // Same size as its manifest says, other bytes: found only by the sha256 of the first read.
          const good = (await readCatalog(bucket, prefix)).backups[0];
          const bytes = await Deno.readFile(`${root}/s3/backups/${good.dumpKey}`);
          bytes[100] ^= 1;
          const stem = "ns_db-29991231T000000Z-000000000000";
          await bucket.put(`${prefix}${stem}.sql`, bytes);
          const manifest = (await bucket.getText(good.manifestKey))!
            .replace(/^seq=.*$/m, "seq=9")
            .replace(/^file=.*$/m, `file=${stem}.sql`);
          await bucket.put(`${prefix}${stem}.manifest`, manifest);
          const run = await spawnStoreJob(
            srv,
            store,
            root,
            { MYSQL_DATABASE: "shop_r2" },
            STORE_RESTORE_SCRIPT,
          ).done;
          ok(run.report?.result === "Restored" && run.report.message?.includes(`${stem}.sql`), run.text);
          equal(await checksum("shop_r2"), before);
          await bucket.delete(`${prefix}${stem}.manifest`);
          await bucket.delete(`${prefix}${stem}.sql`);
        },
      );

      await t.step("into a database that has tables: DatabaseNotEmpty, nothing loaded", async () => {
        const run = await spawnStoreJob(srv, store, root, { MYSQL_DATABASE: "shop" }, STORE_RESTORE_SCRIPT)
          .done;
        ok(run.report?.result === "Failed" && run.report.reason === "DatabaseNotEmpty", run.text);
        equal(await checksum("shop"), before);
      });

      await t.step("a store that refuses the listing: DownloadFailed, never NothingToRestore", async () => {
        const run = await spawnStoreJob(srv, store, root, {
          MYSQL_DATABASE: "shop_r3",
          RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY: "not-the-secret",
        }, STORE_RESTORE_SCRIPT).done;
        ok(run.report?.result === "Failed" && run.report.reason === "DownloadFailed", run.text);
      });

      await t.step("an instance with no backup in the store: NothingToRestore", async () => {
        const run = await spawnStoreJob(srv, store, root, {
          MYSQL_DATABASE: "shop_r4",
          STORE_PATH: "backups/mo/mo-test-1/ns/never-backed-up",
        }, STORE_RESTORE_SCRIPT).done;
        equal(run.code, 0, run.text);
        equal(run.report?.result, "NothingToRestore", run.text);
      });

      await t.step(
        "the Jobs as the operator renders them (Secret keys and downward API resolved as the kubelet does): " +
          "a backup with the next sequence number, and a restore that brings the rows back",
        async () => {
          const keys = { AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey };
          const spec = (database: string) => ({
            password: PASSWORD,
            database,
            backup: {
              objectStore: {
                endpoint: store.endpoint,
                bucket: "backups",
                prefix: "mo",
                region: store.region,
                credentialsSecretRef: { name: "s3-keys" },
              },
            },
          });
          const seq = nextSeq(await readCatalog(bucket, prefix));
          const backupJob = renderBackupJob(
            mysqlObject({ namespace: "ns", name: "db", spec: spec("shop") }),
            {
              jobName: "db-backup-1",
              reason: "manual",
              host: "10.96.0.1",
              store: { cluster: "mo-test-1" },
            },
            DEFAULT_RENDER_OPTIONS,
          );
          const backedUp = await spawnRendered(srv, root, backupJob, { "s3-keys": keys }).done;
          equal(backedUp.report?.result, "BackedUp", `${backedUp.text}\n${backedUp.stderr}`);
          const newest = (await readCatalog(bucket, prefix)).backups[0].manifest;
          equal(newest.seq, seq);
          const restoreJob = renderRestoreJob(
            mysqlObject({ namespace: "ns", name: "db", spec: spec("shop_r3") }),
            { host: "10.96.0.1", store: { cluster: "mo-test-1" } },
            DEFAULT_RENDER_OPTIONS,
          );
          const restored = await spawnRendered(srv, root, restoreJob, { "s3-keys": keys }).done;
          ok(restored.report?.result === "Restored", `${restored.text}\n${restored.stderr}`);
          ok(
            restored.report?.result === "Restored" && restored.report.backup.endsWith(`/${newest.file}`),
            restored.text,
          );
          equal(await checksum("shop_r3"), before);
        },
      );

      await t.step(
        "retention in the folder: the newest BACKUP_RETENTION kept (manifest removed first), the new one never; " +
          "a dump without manifest goes after an hour, a younger one and one with a manifest not understood stay",
        async () => {
          const keys = async () => (await bucket.list(prefix)).map((o) => o.key.slice(prefix.length)).sort();
          const stray = "ns_db-20200101T000000Z-000000000001"; // no manifest, old: removed
          const young = "ns_db-20200101T000000Z-000000000002"; // no manifest, young: kept
          const odd = "ns_db-20200101T000000Z-000000000003"; // a manifest that says nothing: kept
          for (const stem of [stray, young, odd]) await bucket.put(`${prefix}${stem}.sql`, "-- partial\n");
          await bucket.put(`${prefix}${odd}.manifest`, "not a manifest\n");
          for (const stem of [stray, odd]) {
            const then = Date.now() / 1000 - 2 * 60 * 60;
            Deno.utimeSync(`${root}/s3/backups/${prefix}${stem}.sql`, then, then);
          }
          const before = (await readCatalog(bucket, prefix)).backups.map((b) => b.manifest.seq);
          ok(before.length >= 2, `backups before: ${before}`);
          const run = await spawnStoreJob(srv, store, root, { BACKUP_RETENTION: "2" }).done;
          equal(run.report?.result, "BackedUp", `${run.text}\n${run.stderr}`);
          const after = await readCatalog(bucket, prefix);
          deepStrictEqual(after.backups.map((b) => b.manifest.seq), [before[0] + 1, before[0]]);
          const left = await keys();
          ok(!left.includes(`${stray}.sql`), "the old dump without manifest is left");
          ok(left.includes(`${young}.sql`), "a young dump without manifest was removed (an upload may run)");
          ok(
            left.includes(`${odd}.sql`) && left.includes(`${odd}.manifest`),
            "a dump with a manifest was removed",
          );
          // BACKUP_RETENTION=1: only the new one stays; never zero.
          const one = await spawnStoreJob(srv, store, root, { BACKUP_RETENTION: "0" }).done;
          equal(one.report?.result, "BackedUp", one.text);
          deepStrictEqual((await readCatalog(bucket, prefix)).backups.map((b) => b.manifest.seq), [
            before[0] + 2,
          ]);
        },
      );

      await t.step(
        "restoreFrom: an instance without backups of its own loads the source's (newest, or the one named); a " +
          "source without it fails, never starts empty; once it has its own, those win",
        async () => {
          const source = (await readCatalog(bucket, prefix)).backups[0].manifest;
          const copy = {
            STORE_PATH: "backups/mo/mo-test-1/ns/db-copy",
            INSTANCE_ID: "ns/db-copy",
            RESTORE_FROM_PATH: "backups/mo/mo-test-1/ns/db",
            RESTORE_FROM_ID: "ns/db",
          };
          const restore = (env: Record<string, string>) =>
            spawnStoreJob(srv, store, root, { ...copy, ...env }, STORE_RESTORE_SCRIPT).done;
          const newest = await restore({ MYSQL_DATABASE: "copy_1" });
          ok(newest.report?.result === "Restored", `${newest.text}\n${newest.stderr}`);
          ok(newest.report.backup === `backups/${prefix}${source.file}`, newest.text);
          equal(await checksum("copy_1"), before);
          const named = await restore({ MYSQL_DATABASE: "copy_2", RESTORE_FROM_BACKUP: source.file });
          ok(named.report?.result === "Restored", named.text);
          const refused: Record<string, string>[] = [
            { RESTORE_FROM_BACKUP: "ns_db-20200101T000000Z-000000000009.sql" }, // not there
            { RESTORE_FROM_BACKUP: "ns_db-20200101T000000Z-000000000003.sql" }, // a manifest not understood
            { RESTORE_FROM_PATH: "backups/mo/mo-test-1/ns/nobody", RESTORE_FROM_ID: "ns/nobody" }, // empty
            { RESTORE_FROM_ID: "ns/other" }, // the folder's manifests name another instance
          ];
          for (const env of refused) {
            const run = await restore({ MYSQL_DATABASE: "copy_3", ...env });
            ok(
              run.report?.result === "Failed" && run.report.reason === "NoValidBackup",
              `${JSON.stringify(env)}: ${run.text}`,
            );
            equal(
              (await srv.sql("SHOW DATABASES LIKE 'copy_3'")).trim(),
              "",
              "a failed restore created the database",
            );
          }
          // The copy's own backup (of another database) exists now: it is restored, not the source's.
          await srv.sql(
            "CREATE DATABASE tiny; CREATE TABLE tiny.t (id INT PRIMARY KEY); INSERT INTO tiny.t VALUES (1)",
          );
          const own = await spawnStoreJob(srv, store, root, { ...copy, MYSQL_DATABASE: "tiny" }).done;
          equal(own.report?.result, "BackedUp", own.text);
          const mine = await restore({ MYSQL_DATABASE: "copy_4" });
          ok(mine.report?.result === "Restored" && mine.report.backup.includes("/ns/db-copy/"), mine.text);
          equal((await srv.sql("SELECT COUNT(*) FROM copy_4.t")).trim(), "1");
        },
      );
    } finally {
      await store.stop();
      await srv.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * versitygw's posix backend keeps an unfinished multipart upload's parts in
 * `<bucket>/.sgwtmp/multipart/<sha256 of the key>/<upload id>/<part number>`.
 */
async function uploadDir(s3root: string, upload: PendingUpload): Promise<string> {
  const keyHash = await sha256Hex(new TextEncoder().encode(upload.key));
  return `${s3root}/backups/.sgwtmp/multipart/${keyHash}/${upload.uploadId}`;
}

/**
 * Waits until the store lists exactly one upload under `prefix` and a part of it is on disk: the Job is then
 * mid-upload. Asked of the store, not read from any file under `.sgwtmp`, which may hold another upload's part.
 */
async function uploadUnderway(bucket: S3Bucket, s3root: string, prefix: string): Promise<PendingUpload> {
  let found: PendingUpload | undefined;
  await waitFor(async () => {
    const uploads = await bucket.pendingUploads(prefix);
    if (uploads.length !== 1) return false;
    found = uploads[0];
    try {
      for await (const e of Deno.readDir(await uploadDir(s3root, found))) if (e.isFile) return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return false;
  });
  return found!;
}

/**
 * Writes what versitygw leaves when a part's request finishes after its upload was aborted (as when rclone aborts
 * with parts in flight): the part, in a directory the abort had removed and the part's write re-created, with no
 * record of an upload, so the store never lists it. Returns the part's path.
 */
async function orphanPart(s3root: string): Promise<string> {
  const keyHash = await sha256Hex(new TextEncoder().encode(`${crypto.randomUUID()}.sql`));
  const dir = `${s3root}/backups/.sgwtmp/multipart/${keyHash}/${crypto.randomUUID()}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/1`, new Uint8Array(1024));
  return `${dir}/1`;
}

async function waitFor(check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met in ${ms} ms`);
}

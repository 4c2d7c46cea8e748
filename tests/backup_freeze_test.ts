/**
 * The final backup stops writes before it dumps (templates/scripts/freeze.sh), proven against a REAL MariaDB server
 * (Debian's 10.11, the server of the real node's image): the backup script runs as a Job runs it (`sh -c`, only the
 * contract's environment), while clients keep inserting through open connections, as root (the backup's own
 * account, which holds every privilege) and as an application account. Run with
 * `deno test -A tests/backup_freeze_test.ts` (as root it installs mariadb-server when missing; otherwise skipped).
 *
 * @module
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { BACKUP_SCRIPT } from "../templates/backup_script.ts";
import { RESTORE_SCRIPT } from "../templates/restore_script.ts";
import { type JobReport, parseJobReport } from "../templates/job_report.ts";
import { ensureMariaDB, type MariaDBServer, startMariaDB } from "./_mariadb.ts";
import { startInserter } from "./_inserter.ts";
import { waitFor } from "./_clusters.ts";

const availability = await ensureMariaDB();
if (!availability.ok) console.warn(`SKIPPED tests/backup_freeze_test.ts: ${availability.reason}`);

const ROOT_PASSWORD = "rootPw4freeze";
const APP_PASSWORD = "appPw4freeze";
const DB = "shop";
const JOB_UID = "3f1c2b7a-1d2e-4f5a-8b6c-7d8e9f0a1b2c";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface Run {
  code: number;
  stderr: string;
  report: JobReport | undefined;
  reportText: string;
  dir: string;
}

/** Runs the backup script as a Job does, against `srv`, with `reason`. */
function backup(srv: MariaDBServer, reason: string): Promise<Run> {
  return runJob(BACKUP_SCRIPT, srv, { BACKUP_REASON: reason });
}

/**
 * Runs `script` as a Job does against `srv` with the backup volume at `dir`/backup (a new directory by default).
 */
async function runJob(
  script: string,
  srv: MariaDBServer,
  extra: Record<string, string>,
  dir?: string,
): Promise<Run> {
  if (!dir) {
    dir = await Deno.makeTempDir({ prefix: "freeze-test-" });
    await Deno.mkdir(`${dir}/backup`);
    await Deno.mkdir(`${dir}/tmp`);
  }
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    env: {
      PATH,
      TMPDIR: `${dir}/tmp`,
      REPORT_FILE: `${dir}/termination-log`,
      JOB_UID,
      MYSQL_HOST: "127.0.0.1",
      MYSQL_PORT: String(srv.port),
      MYSQL_USER: "root",
      MYSQL_PASSWORD: ROOT_PASSWORD,
      MYSQL_DATABASE: DB,
      INSTANCE_ID: "ns/shop",
      INSTANCE_UID: "6c0f3c1e-0000-4000-8000-000000000001",
      BACKUP_DIR: `${dir}/backup`,
      BACKUP_SUBDIR: "ns_shop",
      BACKUP_RETENTION: "7",
      ...extra,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const reportText = await Deno.readTextFile(`${dir}/termination-log`).catch(() => "");
  const stderr = new TextDecoder().decode(out.stderr);
  ok(!reportText.includes(ROOT_PASSWORD) && !stderr.includes(ROOT_PASSWORD), "the password leaked");
  return { code: out.code, stderr, report: parseJobReport(reportText), reportText, dir };
}

/** A server with the shop database, an application account, and READ_ONLY ADMIN reachable three more ways. */
async function server(): Promise<MariaDBServer> {
  const srv = await startMariaDB({ rootPassword: ROOT_PASSWORD });
  await srv.sql(
    `CREATE DATABASE ${DB};\n` +
      `CREATE TABLE ${DB}.t (writer VARCHAR(20) NOT NULL, n INT NOT NULL, PRIMARY KEY (writer, n));\n` +
      `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${APP_PASSWORD}';\n` +
      `GRANT ALL ON ${DB}.* TO 'app'@'127.0.0.1';\n` +
      // Ways an account can hold READ_ONLY ADMIN besides ALL PRIVILEGES: a direct grant, a default role, PUBLIC.
      "CREATE USER 'ops'@'127.0.0.1'; GRANT READ_ONLY ADMIN, INSERT ON *.* TO 'ops'@'127.0.0.1';\n" +
      "CREATE ROLE admins; GRANT READ_ONLY ADMIN ON *.* TO admins;\n" +
      "CREATE USER 'viarole'@'127.0.0.1'; GRANT admins TO 'viarole'@'127.0.0.1';\n" +
      `GRANT INSERT ON ${DB}.* TO 'viarole'@'127.0.0.1';\n` +
      "SET DEFAULT ROLE admins FOR 'viarole'@'127.0.0.1';\n" +
      "GRANT READ_ONLY ADMIN ON *.* TO PUBLIC;\n",
  );
  return srv;
}

/** Whether `user` (over TCP, no password unless given) can insert a row now; the error text otherwise. */
async function canWrite(srv: MariaDBServer, user: string, password = ""): Promise<true | string> {
  const out = await new Deno.Command("mariadb", {
    args: ["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", String(srv.port), "-u", user, DB],
    env: password ? { MYSQL_PWD: password } : {},
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(`INSERT INTO t VALUES ('probe-${user}', ${Date.now() % 1e9});\n`));
  await w.close();
  const res = await out.output();
  return res.code === 0 ? true : new TextDecoder().decode(res.stderr).trim();
}

async function rowsOf(srv: MariaDBServer, writer: string): Promise<Set<number>> {
  const out = await srv.sql(`SELECT n FROM ${DB}.t WHERE writer = '${writer}'`);
  return new Set(out.split("\n").filter((l) => l).map(Number));
}

function backedUp(run: Run): Extract<JobReport, { result: "BackedUp" }> {
  ok(run.report?.result === "BackedUp", `backup failed (${run.code}): ${run.reportText}\n${run.stderr}`);
  return run.report;
}

Deno.test({
  name: "final backup: writes stop for every account before the dump; every acknowledged row is in it",
  ignore: !availability.ok,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const srv = await server();
    try {
      // Clients on open connections: root (every privilege, the backup's own account) and the application.
      const writers = [
        startInserter({ ...conn(srv), name: "root", user: "root", password: ROOT_PASSWORD }),
        startInserter({ ...conn(srv), name: "app", user: "app", password: APP_PASSWORD }),
      ];
      await waitFor(
        "both clients to have rows acknowledged",
        () => writers.every((w) => w.acked.length >= 20),
      );
      const run = await backup(srv, "final");
      // Root's refusal needs a reconnect after its connection was cut, which races the end of the script: wait
      // for it (a final backup leaves the server read-only) before the clients are stopped.
      await waitFor(
        "both clients to have a write refused as read-only",
        () => writers.every((w) => w.errors.some((e) => e.includes("read-only"))),
      ).catch(() => {}); // the assertions below say which client and what it saw
      const stats = await Promise.all(writers.map((w) => w.stop()));
      const report = backedUp(run);
      equal(report.readOnly, true, "the report says the backup was taken read-only");
      equal(report.jobUid, JOB_UID, "the report names its Job");
      ok(run.stderr.includes("writes stopped"), run.stderr);

      // Every acknowledged row is in the dump (and, being read-only now, in the server too).
      const dump = await Deno.readTextFile(`${run.dir}/backup/${report.file}`);
      for (const [i, name] of ["root", "app"].entries()) {
        const present = await rowsOf(srv, name);
        const missing = stats[i].acked.filter((n) => !present.has(n));
        deepStrictEqual(missing, [], `${name}: acknowledged rows missing from the server`);
        const last = Math.max(...stats[i].acked);
        ok(dump.includes(`('${name}',${last})`), `${name}: last acknowledged row ${last} is in the dump`);
        ok(stats[i].connections >= 2, `${name}: its open connection was cut (${stats[i].connections} used)`);
        ok(
          stats[i].errors.some((e) => e.includes("read-only")),
          `${name}: writes were refused as read-only: ${JSON.stringify(stats[i].errors)}`,
        );
      }
      // Nobody writes any more: not root over TCP or the socket, not the application, not an account holding
      // READ_ONLY ADMIN directly, through a role or through PUBLIC; and read_only cannot be switched off.
      for (
        const [user, pw] of [["root", ROOT_PASSWORD], ["app", APP_PASSWORD], ["ops", ""], ["viarole", ""]]
      ) {
        const res = await canWrite(srv, user, pw);
        ok(res !== true && /read-only/.test(res), `${user} can still write: ${res}`);
      }
      await srv.sql(`INSERT INTO ${DB}.t VALUES ('socket', 1)`).then(
        () => ok(false, "root over the socket can still write"),
        (e) => ok(/read-only/.test(String(e)), String(e)),
      );
      await srv.sql("SET GLOBAL read_only = OFF").then(
        () => ok(false, "read_only could be switched off"),
        (e) => ok(/READ_ONLY ADMIN/.test(String(e)), String(e)),
      );

      // A retry (the operator retries a final backup whose Job failed later on) freezes again and succeeds.
      const again = backedUp(await backup(srv, "final"));
      equal(again.readOnly, true);
    } finally {
      await srv.stop();
    }
  },
});

Deno.test({
  name: "scheduled and manual backups leave the server writable and say readOnly false",
  ignore: !availability.ok,
  sanitizeResources: false,
  async fn() {
    const srv = await server();
    try {
      for (const reason of ["scheduled", "manual"]) {
        const report = backedUp(await backup(srv, reason));
        deepStrictEqual([report.readOnly, report.jobUid], [false, JOB_UID], reason);
        equal(await canWrite(srv, "root", ROOT_PASSWORD), true, `${reason}: root still writes`);
        equal(await canWrite(srv, "app", APP_PASSWORD), true, `${reason}: app still writes`);
      }
    } finally {
      await srv.stop();
    }
  },
});

Deno.test({
  name: "a final backup that cannot stop writes fails with ReadOnlyFailed and dumps nothing",
  ignore: !availability.ok,
  sanitizeResources: false,
  async fn() {
    const srv = await server();
    try {
      // The backup account lost READ_ONLY ADMIN: it can neither set read_only nor, with read_only already on,
      // take the privilege from an account that still has it ('ops').
      await srv.sql(
        "REVOKE READ_ONLY ADMIN ON *.* FROM PUBLIC; REVOKE READ_ONLY ADMIN ON *.* FROM 'root'@'127.0.0.1';",
      );
      for (
        const [when, sql, why] of [
          ["read_only off", "", /READ_ONLY ADMIN privilege/],
          ["read_only on", "SET GLOBAL read_only = ON", /an account still holds READ_ONLY ADMIN/],
        ] as const
      ) {
        if (sql) await srv.sql(sql);
        const run = await backup(srv, "final");
        ok(
          run.report?.result === "Failed" && run.report.reason === "ReadOnlyFailed",
          `${when}: expected ReadOnlyFailed: ${run.reportText}\n${run.stderr}`,
        );
        equal(run.report.jobUid, JOB_UID);
        ok(why.test(run.report.message), `${when}: ${run.report.message}`);
        ok(run.code !== 0);
        const files = [...Deno.readDirSync(`${run.dir}/backup/ns_shop`)].map((e) => e.name);
        deepStrictEqual(files, [], `${when}: nothing dumped`);
      }
    } finally {
      await srv.stop();
    }
  },
});

Deno.test({
  name: "a migrate backup freezes like the final one and sums every table; the restore compares the sums",
  ignore: !availability.ok,
  sanitizeResources: false,
  async fn() {
    const srv = await server();
    const target = await startMariaDB({ rootPassword: ROOT_PASSWORD });
    try {
      // Names the shell must never see as text: a space, a backquote, a quote; and an empty table.
      await srv.sql(
        `INSERT INTO ${DB}.t VALUES ('a', 1), ('a', 2), ('b', 3);\n` +
          // FLOAT: the dump writes 6 significant digits, so a reloaded 1.2345679 is 1.23457 (CHECKSUM TABLE
          // differs; what the dump carries, and so what the sums compare, does not).
          `CREATE TABLE ${DB}.\`odd \`\`name'\` (v VARCHAR(10), f FLOAT, b BLOB);\n` +
          `INSERT INTO ${DB}.\`odd \`\`name'\` VALUES ('x', 1.2345679, 0x00ff27), (NULL, NULL, NULL);\n` +
          `CREATE TABLE ${DB}.empty (id INT);`,
      );
      const run = await backup(srv, "migrate");
      const report = backedUp(run);
      equal(report.readOnly, true, "taken read-only");
      equal(report.tables, 3, "the report counts the tables summed");
      ok(/read-only/.test(String(await canWrite(srv, "app", APP_PASSWORD))), "the source stays read-only");
      const manifestPath = `${run.dir}/backup/${report.file.replace(/\.sql$/, ".manifest")}`;
      const manifest = await Deno.readTextFile(manifestPath);
      const sums = manifest.split("\n").filter((l) => l.startsWith("table="));
      const hex = (name: string) =>
        [...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, "0")).join("")
          .toUpperCase();
      deepStrictEqual(
        sums.map((l) => l.split(" ").slice(0, 2).join(" ")).sort(),
        [`table=${hex("empty")} 0`, `table=${hex("odd `name'")} 2`, `table=${hex("t")} 3`].sort(),
        manifest,
      );
      ok(manifest.includes("reason=migrate"), manifest);

      // Restored into another server: the same rows, checked by the script against the manifest's sums.
      const restore = () => runJob(RESTORE_SCRIPT, target, {}, run.dir);
      const restored = await restore();
      ok(restored.report?.result === "Restored", `${restored.reportText}\n${restored.stderr}`);
      equal(restored.report.verifiedTables, 3, restored.reportText);
      const checksum = (s: MariaDBServer) => s.sql(`CHECKSUM TABLE ${DB}.t`);
      equal(await checksum(target), await checksum(srv));

      // A manifest whose sums do not match what loads (one row more for t): the load is undone and the run fails.
      await Deno.writeTextFile(
        manifestPath,
        manifest.replace(`table=${hex("t")} 3 `, `table=${hex("t")} 4 `),
      );
      await target.sql(`DROP DATABASE ${DB}`);
      const bad = await restore();
      ok(
        bad.report?.result === "Failed" && bad.report.reason === "ChecksumMismatch",
        `${bad.reportText}\n${bad.stderr}`,
      );
      ok(bad.report.message.includes(`table=${hex("t")} 4`), bad.report.message);
      equal(
        (await target.sql(`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}'`))
          .trim(),
        "0",
        "the mismatching load was undone",
      );

      // Retention never removes the newest migrate backup (a migration may still restore it): with a retention
      // of 1, two later backups leave the newest of them and the migrate backup.
      await Deno.writeTextFile(manifestPath, manifest);
      for (let i = 0; i < 2; i++) {
        backedUp(
          await runJob(BACKUP_SCRIPT, srv, { BACKUP_REASON: "manual", BACKUP_RETENTION: "1" }, run.dir),
        );
      }
      const left = [...Deno.readDirSync(`${run.dir}/backup/ns_shop`)].map((e) => e.name)
        .filter((n) => n.endsWith(".manifest"));
      equal(left.length, 2, left.join(", "));
      ok(
        left.includes(manifestPath.split("/").at(-1)!),
        `the migrate backup was removed: ${left.join(", ")}`,
      );
    } finally {
      await srv.stop();
      await target.stop();
    }
  },
});

function conn(srv: MariaDBServer) {
  return { host: "127.0.0.1", port: srv.port, database: DB, table: "t" };
}

/**
 * The backup and restore Job scripts against a REAL MariaDB server, run exactly as a Job runs them:
 * `sh -c "$SCRIPT"` with only the contract's environment (MYSQL_HOST=127.0.0.1 and the server's port, REPORT_FILE
 * in a temporary directory). Run with `deno test -A tests/backup_restore_test.ts` (as root it installs Debian's
 * mariadb-server, mariadb-client and busybox when missing; otherwise it is skipped with the reason).
 *
 * @module
 */
import { deepStrictEqual, equal, notEqual, ok } from "node:assert/strict";
import { BACKUP_SCRIPT } from "../templates/backup_script.ts";
import { RESTORE_SCRIPT } from "../templates/restore_script.ts";
import { type JobReport, parseJobReport } from "../templates/job_report.ts";
import {
  ensureDebianPackages,
  ensureMariaDB,
  type MariaDBServer,
  sqlString,
  startMariaDB,
  which,
} from "./_mariadb.ts";

const availability = await ensureMariaDB();
if (!availability.ok) console.warn(`SKIPPED tests/backup_restore_test.ts: ${availability.reason}`);
const busybox = availability.ok ? await ensureDebianPackages(["busybox"], ["busybox"]) : availability;
if (!busybox.ok) console.warn(`busybox step skipped: ${busybox.reason}`);

/** Quotes, `$`, backslashes, spaces at both ends, `#`, `;`, a tab and a newline: every option-file hazard. */
const PASSWORD =
  " lead'single\"double$HOME ${PATH} $(id) `id` \\back\\\\slash #hash ;semi\nsecond line\ttab trail ";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const BIG_ROWS = 150_000;

// ---------------------------------------------------------------------------------------------------------------
// Running the scripts as a Job does.

interface Instance {
  database: string;
  instanceId: string;
  instanceUid?: string;
  backupDir: string;
  subdir: string;
  retention?: number | string;
  password?: string;
  port?: number;
}

interface JobRun {
  code: number;
  stdout: string;
  stderr: string;
  report: JobReport | undefined;
  reportText: string;
  ms: number;
}

let seq = 0;

/** Starts one Job script; `shell` is how /bin/sh is invoked (dash by default). */
function spawnJob(
  srv: MariaDBServer,
  script: string,
  inst: Instance,
  opts: { shell?: string[]; path?: string; reason?: string } = {},
): { child: Deno.ChildProcess; tmpdir: string; done: Promise<JobRun> } {
  const runDir = `${inst.backupDir}/../runs/${++seq}`;
  const tmpdir = `${runDir}/tmp`;
  Deno.mkdirSync(tmpdir, { recursive: true });
  const reportFile = `${runDir}/termination-log`;
  const env: Record<string, string> = {
    PATH: opts.path ?? PATH,
    TMPDIR: tmpdir,
    REPORT_FILE: reportFile,
    MYSQL_HOST: "127.0.0.1",
    MYSQL_PORT: String(inst.port ?? srv.port),
    MYSQL_USER: "root",
    MYSQL_PASSWORD: inst.password ?? PASSWORD,
    MYSQL_DATABASE: inst.database,
    INSTANCE_ID: inst.instanceId,
    INSTANCE_UID: inst.instanceUid ?? "6c0f3c1e-0000-4000-8000-000000000001",
    JOB_UID: "7d1e4f2a-0000-4000-8000-0000000000" + String(seq).padStart(2, "0"),
    BACKUP_DIR: inst.backupDir,
    BACKUP_SUBDIR: inst.subdir,
    BACKUP_RETENTION: String(inst.retention ?? 7),
  };
  if (script === BACKUP_SCRIPT) env.BACKUP_REASON = opts.reason ?? "manual";
  const [cmd, ...pre] = opts.shell ?? ["sh"];
  const started = performance.now();
  const child = new Deno.Command(cmd, {
    args: [...pre, "-c", script],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = child.output().then((out) => {
    const ms = performance.now() - started;
    let reportText = "";
    try {
      reportText = Deno.readTextFileSync(reportFile);
    } catch {
      // no report (killed outright)
    }
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      report: parseJobReport(reportText),
      reportText,
      ms,
    };
  });
  return { child, tmpdir, done };
}

/** Runs a Job script to completion and checks what every run must satisfy. */
async function runJob(
  srv: MariaDBServer,
  script: string,
  inst: Instance,
  opts: { shell?: string[]; path?: string; reason?: string } = {},
): Promise<JobRun> {
  const { tmpdir, done } = spawnJob(srv, script, inst, opts);
  const res = await done;
  checkRun(res, inst);
  // The option file's temporary directory is gone (removed by the script's trap).
  deepStrictEqual([...Deno.readDirSync(tmpdir)].map((e) => e.name), [], "temporary files left in TMPDIR");
  return res;
}

/** Invariants of any finished run: a parseable report that matches the exit code, and no password anywhere. */
function checkRun(res: JobRun, inst: Instance): void {
  ok(res.report, `no valid report: ${JSON.stringify(res.reportText)}\n${res.stderr}`);
  equal(res.reportText.split("\n").filter((l) => l).length, 1, "exactly one report line");
  equal(
    res.code === 0,
    res.report.result !== "Failed",
    `exit ${res.code} with ${res.reportText}\n${res.stderr}`,
  );
  const pw = inst.password ?? PASSWORD;
  for (const text of [res.stdout, res.stderr, res.reportText]) {
    ok(!text.includes(pw), "the password appeared in the output");
  }
}

function backedUp(res: JobRun): Extract<JobReport, { result: "BackedUp" }> {
  const r = res.report;
  ok(r?.result === "BackedUp", `backup failed: ${res.reportText}\n${res.stderr}`);
  return r;
}

function restored(res: JobRun): Extract<JobReport, { result: "Restored" }> {
  const r = res.report;
  ok(r?.result === "Restored", `restore failed: ${res.reportText}\n${res.stderr}`);
  return r;
}

function failed(res: JobRun, reason: string): Extract<JobReport, { result: "Failed" }> {
  const r = res.report;
  ok(
    r?.result === "Failed" && r.reason === reason,
    `expected Failed/${reason}: ${res.reportText}\n${res.stderr}`,
  );
  notEqual(res.code, 0);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Data helpers.

function rand(): string {
  return crypto.randomUUID().slice(0, 8);
}

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256 of an ordered SELECT (text and binary columns hex-encoded, so nothing is lost in transit). */
async function tableDigest(srv: MariaDBServer, db: string, table: string): Promise<string> {
  const cols = (await srv.sql(
    `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${sqlString(db)} ` +
      `AND TABLE_NAME = ${sqlString(table)} ORDER BY ORDINAL_POSITION`,
  )).trim().split("\n");
  ok(cols.length > 0 && cols[0] !== "", `table ${db}.${table} has no columns`);
  const select = cols.map((c) => `HEX(\`${c}\`)`).join(", ");
  return sha256Hex(await srv.sql(`SELECT ${select} FROM \`${table}\` ORDER BY 1`, db));
}

async function checksumTable(srv: MariaDBServer, db: string, table: string): Promise<string> {
  return (await srv.sql(`CHECKSUM TABLE \`${db}\`.\`${table}\` EXTENDED`)).trim().split("\t")[1];
}

const AWKWARD_TEXT = [
  "plain",
  "quote ' double \" backslash \\ newline \n cr \r tab \t nul \u0000 ctrl-z \u001a",
  "😀 ünïcödé 密码 \n-- Dump completed on 2000-01-01 (inside data)",
  "/*!40101 SET @x=1 */; DROP TABLE awkward; -- ",
  "`backtick` $HOME $(id) ${PATH}",
  "",
  "long-".repeat(20_000),
];

/** A database with awkward values, a view, a trigger, a procedure, a function and an event. */
async function createAwkwardDatabase(srv: MariaDBServer, db: string): Promise<void> {
  let sql = `CREATE DATABASE \`${db}\`;\nUSE \`${db}\`;\n` +
    "CREATE TABLE awkward (id INT PRIMARY KEY, txt LONGTEXT, bin LONGBLOB, vc VARCHAR(100), " +
    "num DECIMAL(30,10), dbl DOUBLE, js JSON, ts DATETIME(6), n INT NULL) DEFAULT CHARSET=utf8mb4;\n" +
    "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(50));\n" +
    "CREATE TRIGGER trg_awkward AFTER INSERT ON awkward FOR EACH ROW " +
    "INSERT INTO audit(note) VALUES (CONCAT('insert ', NEW.id));\n" +
    "CREATE VIEW v_awkward AS SELECT id, vc FROM awkward WHERE id > 1;\n" +
    "CREATE PROCEDURE p_count(OUT c INT) SELECT COUNT(*) INTO c FROM awkward;\n" +
    "CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n" +
    "CREATE EVENT ev_noop ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0;\n";
  const rows = [
    "0x00, ' lead and trail ', 0, 0, '{}', '2000-01-01 00:00:00', NULL",
    "0x0001027F80FF, 'NULL', -12345678901234567890.0123456789, 1.7976931348623157e308, " +
    `'{"a":[1,"x\\\\"y"]}', '1970-01-01 00:00:01.000001', -1`,
    "REPEAT(0xFF, 100000), '', 0.0000000001, -0.5, 'null', '2038-01-19 03:14:08', 2147483647",
    "UNHEX('DEADBEEF'), '`quoted`', 1, 2.5e-300, '[]', '9999-12-31 23:59:59.999999', 0",
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL",
    "'', 'x', 42, 42, '\"s\"', NULL, NULL",
    "0x27225C0A0D1A, 'bin quotes', 3, 3, '3', NULL, 3",
  ];
  AWKWARD_TEXT.forEach((text, i) => {
    sql += `INSERT INTO awkward VALUES (${i + 1}, ${sqlString(text)}, ${rows[i]});\n`;
  });
  await srv.sql(sql);
}

interface AwkwardState {
  awkward: string;
  audit: string;
  checksum: string;
}

async function awkwardState(srv: MariaDBServer, db: string): Promise<AwkwardState> {
  return {
    awkward: await tableDigest(srv, db, "awkward"),
    audit: await tableDigest(srv, db, "audit"),
    checksum: await checksumTable(srv, db, "awkward"),
  };
}

/** A table big enough that a dump takes a while (BIG_ROWS rows of ~250 bytes). */
async function createBigDatabase(srv: MariaDBServer, db: string, rows = BIG_ROWS): Promise<void> {
  await srv.sql(
    `CREATE DATABASE \`${db}\`;\nUSE \`${db}\`;\n` +
      "CREATE TABLE big (id INT PRIMARY KEY, a VARCHAR(255), b INT, c DOUBLE);\n" +
      `INSERT INTO big SELECT seq, CONCAT(REPEAT(CHAR(65 + seq % 26), 200), ' ''q'' \\\\ ', seq), ` +
      `seq * 7, seq / 3 FROM seq_1_to_${rows};\n`,
  );
}

function listDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Complete backups (dump + manifest) in a directory, as stems, with the instance each manifest names. */
function completeBackups(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of listDir(path)) {
    if (!name.endsWith(".manifest") || name.startsWith(".")) continue;
    const stem = name.slice(0, -".manifest".length);
    if (!listDir(path).includes(`${stem}.sql`)) continue;
    const id = Deno.readTextFileSync(`${path}/${name}`).match(/^instance_id=(.*)$/m)?.[1] ?? "";
    out.set(stem, id);
  }
  return out;
}

function stemOf(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1, -".sql".length);
}

// ---------------------------------------------------------------------------------------------------------------
// /proc scanning.

interface Proc {
  pid: number;
  argv: string[];
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const raw = new TextDecoder().decode(Deno.readFileSync(`/proc/${e.name}/cmdline`));
      out.push({
        pid: Number(e.name),
        argv: raw.split("\u0000").filter((a, i, all) => a || i < all.length - 1),
      });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function isClient(p: Proc, names: string[], db: string): boolean {
  const base = (p.argv[0] ?? "").split("/").pop() ?? "";
  return names.includes(base) && p.argv.includes(db);
}

const DUMP_NAMES = ["mariadb-dump", "mysqldump"];

/** Polls until the dump of `db` is running and its temporary file has grown past `minBytes`; returns its pid. */
async function waitForDumpInProgress(db: string, dir: string, minBytes: number, done: Promise<unknown>) {
  let finished = false;
  done.then(() => finished = true);
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline && !finished) {
    const dump = processes().find((p) => isClient(p, DUMP_NAMES, db));
    const partial = listDir(dir).find((n) => n.startsWith(".partial-"));
    if (dump && partial) {
      try {
        if (Deno.statSync(`${dir}/${partial}`).size >= minBytes) return { pid: dump.pid, partial };
      } catch {
        // renamed or removed meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(finished ? "the dump finished before it could be interrupted" : "no dump in progress seen");
}

// ---------------------------------------------------------------------------------------------------------------

Deno.test({
  name: "backup and restore scripts against a real MariaDB server",
  ignore: !availability.ok,
  async fn(t) {
    const srv = await startMariaDB({ rootPassword: PASSWORD });
    const root = await Deno.makeTempDir({ prefix: "backup-restore-test-" });
    const newInstanceDir = (name: string) => {
      const dir = `${root}/${name}/backup`;
      Deno.mkdirSync(dir, { recursive: true });
      return dir;
    };
    try {
      await t.step(
        "round trip: awkward rows, view, trigger, routines and event come back identical",
        async () => {
          const db = `rt_${rand()}`;
          const backupDir = newInstanceDir("roundtrip");
          await createAwkwardDatabase(srv, db);
          const before = await awkwardState(srv, db);
          const inst: Instance = { database: db, instanceId: "default/rt", backupDir, subdir: "default_rt" };

          // Not `final`: a final backup freezes the server (tests/backup_freeze_test.ts), and later steps share it.
          const bk = await runJob(srv, BACKUP_SCRIPT, inst, { reason: "scheduled" });
          const report = backedUp(bk);
          const file = `${backupDir}/${report.file}`;
          const bytes = Deno.readFileSync(file);
          equal(report.bytes, bytes.length);
          equal(report.sha256, await sha256Hex(bytes));
          ok(report.file.startsWith("default_rt/default_rt-"), report.file);
          const manifest = Deno.readTextFileSync(file.replace(/\.sql$/, ".manifest"));
          for (
            const line of [
              "format=1",
              "instance_id=default/rt",
              "instance_uid=6c0f3c1e-0000-4000-8000-000000000001",
              `database=${db}`,
              `file=${report.file.split("/")[1]}`,
              `time=${report.time}`,
              "seq=1",
              `bytes=${report.bytes}`,
              `sha256=${report.sha256}`,
              "reason=scheduled",
            ]
          ) ok(manifest.split("\n").includes(line), `manifest lacks ${line}:\n${manifest}`);
          console.log(`round trip: backup ${bk.ms.toFixed(0)} ms, ${report.bytes} bytes`);

          // A fresh instance: the database is gone entirely (the restore creates it).
          await srv.sql(`DROP DATABASE \`${db}\``);
          const rs = await runJob(srv, RESTORE_SCRIPT, {
            ...inst,
            instanceUid: "6c0f3c1e-0000-4000-8000-00000000002",
          });
          const r = restored(rs);
          equal(r.backup, report.file);
          equal(r.sha256, report.sha256);
          equal(r.backupTime, report.time);
          console.log(`round trip: restore ${rs.ms.toFixed(0)} ms`);

          deepStrictEqual(await awkwardState(srv, db), before);
          equal(
            (await srv.sql("SELECT COUNT(*) FROM v_awkward", db)).trim(),
            String(AWKWARD_TEXT.length - 1),
          );
          equal((await srv.sql("SELECT f_double(21)", db)).trim(), "42");
          equal((await srv.sql("CALL p_count(@c); SELECT @c;", db)).trim(), String(AWKWARD_TEXT.length));
          equal(
            (await srv.sql(`SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${db}'`))
              .trim(),
            "ev_noop",
          );
          // The trigger came back and fires.
          await srv.sql("INSERT INTO awkward (id) VALUES (100)", db);
          equal((await srv.sql("SELECT note FROM audit ORDER BY id DESC LIMIT 1", db)).trim(), "insert 100");
          await srv.sql(`DROP DATABASE \`${db}\``);
        },
      );

      await t.step(
        "NothingToRestore with no backup; DatabaseNotEmpty loads nothing and changes nothing",
        async () => {
          const db = `ne_${rand()}`;
          const backupDir = newInstanceDir("notempty");
          const inst: Instance = { database: db, instanceId: "shop/ne", backupDir, subdir: "shop_ne" };
          await srv.sql(`CREATE DATABASE \`${db}\``);

          const nothing = await runJob(srv, RESTORE_SCRIPT, inst);
          equal(nothing.code, 0);
          equal(nothing.report?.result, "NothingToRestore");

          await srv.sql(
            `CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');`,
            db,
          );
          backedUp(await runJob(srv, BACKUP_SCRIPT, inst));
          await srv.sql("DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (3, 'three');", db);
          const before = await tableDigest(srv, db, "t");
          const tablesBefore = await srv.sql(`SHOW TABLES FROM \`${db}\``);

          const res = await runJob(srv, RESTORE_SCRIPT, inst);
          const f = failed(res, "DatabaseNotEmpty");
          ok(f.message.includes("nothing was loaded"), f.message);
          equal(await tableDigest(srv, db, "t"), before);
          equal(await srv.sql(`SHOW TABLES FROM \`${db}\``), tablesBefore);

          // A routine alone also makes a database non-empty.
          const db2 = `ne2_${rand()}`;
          await srv.sql(`CREATE DATABASE \`${db2}\`; CREATE FUNCTION \`${db2}\`.f() RETURNS INT RETURN 1;`);
          failed(await runJob(srv, RESTORE_SCRIPT, { ...inst, database: db2 }), "DatabaseNotEmpty");
          equal((await srv.sql(`SHOW TABLES FROM \`${db2}\``)).trim(), "");
          await srv.sql(`DROP DATABASE \`${db}\`; DROP DATABASE \`${db2}\`;`);
        },
      );

      await t.step(
        "kill -9 of the dump, and of the whole job, mid-dump: the previous backup is what restores",
        async () => {
          const db = `kill_${rand()}`;
          const backupDir = newInstanceDir("kill");
          const subdir = "prod_kill";
          const dir = `${backupDir}/${subdir}`;
          const inst: Instance = { database: db, instanceId: "prod/kill", backupDir, subdir };
          let t0 = performance.now();
          await createBigDatabase(srv, db);
          console.log(`kill: created ${BIG_ROWS} rows in ${(performance.now() - t0).toFixed(0)} ms`);
          const good = await runJob(srv, BACKUP_SCRIPT, inst);
          const goodReport = backedUp(good);
          console.log(`kill: full backup of ${goodReport.bytes} bytes in ${good.ms.toFixed(0)} ms`);
          const goodDigest = await tableDigest(srv, db, "big");
          const goodFiles = listDir(dir);
          await srv.sql("UPDATE big SET b = b + 1 WHERE id % 2 = 0", db);

          // 1. Only the dump process dies: the script sees it, reports, and removes its temporary file.
          const run1 = spawnJob(srv, BACKUP_SCRIPT, inst);
          const seen1 = await waitForDumpInProgress(db, dir, 1 << 20, run1.done);
          Deno.kill(seen1.pid, "SIGKILL");
          const res1 = await run1.done;
          checkRun(res1, inst);
          const f1 = failed(res1, "DumpFailed");
          ok(f1.message.includes("status 137"), f1.message);
          deepStrictEqual(
            listDir(dir),
            goodFiles,
            "a killed dump left files behind or touched old ones",
          );
          deepStrictEqual(listDir(run1.tmpdir), []);

          // 2. The whole job dies (pod killed): no trap runs, the hidden temporary file stays, and is never picked.
          const run2 = spawnJob(srv, BACKUP_SCRIPT, inst);
          const seen2 = await waitForDumpInProgress(db, dir, 1 << 20, run2.done);
          Deno.kill(run2.child.pid, "SIGKILL");
          Deno.kill(seen2.pid, "SIGKILL");
          const res2 = await run2.done;
          equal(res2.reportText, "", "a job killed outright writes no report");
          const after2 = listDir(dir);
          deepStrictEqual(
            after2.filter((n) => !n.startsWith(".partial-")),
            goodFiles.filter((n) => n[0] !== "."),
          );
          ok(after2.some((n) => n.startsWith(".partial-")), "the killed job's temporary file is there");
          // Its content must not be mistaken for a backup: it is incomplete.
          const partial = after2.find((n) => n.startsWith(".partial-"))!;
          ok(
            !new TextDecoder().decode(Deno.readFileSync(`${dir}/${partial}`).slice(-200)).includes(
              "Dump completed",
            ),
          );

          // The restore into a fresh instance loads the good backup (the old rows, not the updated ones).
          await srv.sql(`DROP DATABASE \`${db}\``);
          t0 = performance.now();
          const rs = await runJob(srv, RESTORE_SCRIPT, inst);
          const r = restored(rs);
          console.log(
            `kill: restore of ${goodReport.bytes} bytes in ${(performance.now() - t0).toFixed(0)} ms`,
          );
          equal(r.backup, goodReport.file);
          equal(r.sha256, goodReport.sha256);
          equal(r.message, `restored the backup taken at ${goodReport.time}`);
          equal(await tableDigest(srv, db, "big"), goodDigest);

          // Stale leftovers of this instance (older than an hour) are pruned by the next good backup; another
          // instance's leftovers and a fresh one of this instance (a run in progress) are not.
          const old = new Date(Date.now() - 2 * 3600_000);
          Deno.utimeSync(`${dir}/${partial}`, old, old);
          const foreignPartial = `${dir}/.partial-prod_other-20200101T000000Z-abcdef`;
          Deno.writeTextFileSync(foreignPartial, "other instance");
          Deno.utimeSync(foreignPartial, old, old);
          const freshPartial = `${dir}/.partial-prod_kill-20990101T000000Z-zzzzzz`;
          Deno.writeTextFileSync(freshPartial, "in progress");
          const orphan = `${dir}/prod_kill-20200101T000000Z-orphan.sql`;
          Deno.writeTextFileSync(orphan, "renamed, manifest never written");
          Deno.utimeSync(orphan, old, old);
          backedUp(await runJob(srv, BACKUP_SCRIPT, inst));
          const after = listDir(dir);
          ok(!after.includes(partial), "stale temporary file of this instance not pruned");
          ok(!after.includes(orphan.split("/").pop()!), "stale dump without manifest not pruned");
          ok(after.includes(foreignPartial.split("/").pop()!), "another instance's file was touched");
          ok(after.includes(freshPartial.split("/").pop()!), "a fresh temporary file was removed");
          await srv.sql(`DROP DATABASE \`${db}\``);
        },
      );

      await t.step(
        "server gone mid-dump, and a wrong password: Failed with a reason, previous backup intact",
        async () => {
          const other = await startMariaDB({ rootPassword: PASSWORD });
          try {
            const db = `gone_${rand()}`;
            const backupDir = newInstanceDir("gone");
            const subdir = "prod_gone";
            const dir = `${backupDir}/${subdir}`;
            const inst: Instance = { database: db, instanceId: "prod/gone", backupDir, subdir };
            await createBigDatabase(other, db);
            const goodReport = backedUp(await runJob(other, BACKUP_SCRIPT, inst));
            const goodDigest = await tableDigest(other, db, "big");
            const goodFiles = listDir(dir);

            const wrong = await runJob(other, BACKUP_SCRIPT, { ...inst, password: PASSWORD + "x" });
            failed(wrong, "AccessDenied");
            deepStrictEqual(listDir(dir), goodFiles);

            await other.sql("UPDATE big SET b = 0", db);
            const run = spawnJob(other, BACKUP_SCRIPT, inst);
            await waitForDumpInProgress(db, dir, 1 << 20, run.done);
            other.kill();
            const res = await run.done;
            checkRun(res, inst);
            const f = failed(res, "ConnectionFailed");
            console.log(`server gone: ${f.message}`);
            deepStrictEqual(listDir(dir), goodFiles);

            // Restore into another (fresh) server: the backup from before the failures.
            const rs = await runJob(srv, RESTORE_SCRIPT, inst);
            equal(restored(rs).backup, goodReport.file);
            equal(await tableDigest(srv, db, "big"), goodDigest);
            await srv.sql(`DROP DATABASE \`${db}\``);

            // And a restore against a server that is down fails clearly (after the backup was found).
            failed(await runJob(other, RESTORE_SCRIPT, inst), "ConnectionFailed");
          } finally {
            await other.stop();
          }
        },
      );

      await t.step(
        "retention keeps exactly N per instance; instances sharing a directory stay apart",
        async () => {
          const backupDir = newInstanceDir("retention");
          const shared = "team_app"; // the same BACKUP_SUBDIR for two instances: only manifests tell them apart
          const dir = `${backupDir}/${shared}`;
          const dbA = `ra_${rand()}`, dbB = `rb_${rand()}`, dbC = `rc_${rand()}`;
          const a: Instance = {
            database: dbA,
            instanceId: "team/app",
            backupDir,
            subdir: shared,
            retention: 3,
          };
          const b: Instance = {
            database: dbB,
            instanceId: "team/app-b",
            backupDir,
            subdir: shared,
            retention: 2,
          };
          const c: Instance = {
            database: dbC,
            instanceId: "team/c",
            backupDir,
            subdir: "team_c",
            retention: 1,
          };
          for (const db of [dbA, dbB, dbC]) {
            await srv.sql(
              `CREATE DATABASE \`${db}\`; CREATE TABLE \`${db}\`.gen (g INT PRIMARY KEY, who TEXT);`,
            );
          }
          // Files that are no one's backups: never touched.
          Deno.mkdirSync(dir, { recursive: true });
          const foreign = ["notes.txt", "team_app-19990101T000000Z-manual.sql", ".hidden"];
          for (const f of foreign) Deno.writeTextFileSync(`${dir}/${f}`, "keep me");

          const reportsA: string[] = [], reportsB: string[] = [];
          const digestsA: string[] = [], digestsB: string[] = [];
          for (let i = 1; i <= 5; i++) {
            await srv.sql(`INSERT INTO gen VALUES (${i}, 'a')`, dbA);
            reportsA.push(backedUp(await runJob(srv, BACKUP_SCRIPT, a)).file);
            digestsA.push(await tableDigest(srv, dbA, "gen"));
            if (i <= 3) {
              await srv.sql(`INSERT INTO gen VALUES (${i}, 'b')`, dbB);
              reportsB.push(backedUp(await runJob(srv, BACKUP_SCRIPT, b)).file);
              digestsB.push(await tableDigest(srv, dbB, "gen"));
            }
            if (i === 1) backedUp(await runJob(srv, BACKUP_SCRIPT, c));
          }
          const complete = completeBackups(dir);
          const ofA = [...complete].filter(([, id]) => id === "team/app").map(([s]) => s).sort();
          const ofB = [...complete].filter(([, id]) => id === "team/app-b").map(([s]) => s).sort();
          deepStrictEqual(
            ofA,
            reportsA.slice(-3).map(stemOf).sort(),
            "instance A keeps exactly its newest 3",
          );
          deepStrictEqual(
            ofB,
            reportsB.slice(-2).map(stemOf).sort(),
            "instance B keeps exactly its newest 2",
          );
          for (const f of foreign) ok(listDir(dir).includes(f), `foreign file ${f} was deleted`);
          equal(completeBackups(`${backupDir}/team_c`).size, 1);
          ok(!listDir(dir).some((n) => n.startsWith(".partial-")));

          // A forged backup: named like A's, newest sequence, but its manifest says it is B's.
          const newestB = `${backupDir}/${reportsB[2]}`;
          const forged = "team_app-29991231T235959Z-forged";
          Deno.copyFileSync(newestB, `${dir}/${forged}.sql`);
          Deno.writeTextFileSync(
            `${dir}/${forged}.manifest`,
            Deno.readTextFileSync(newestB.replace(/\.sql$/, ".manifest"))
              .replace(/^file=.*$/m, `file=${forged}.sql`).replace(/^seq=.*$/m, "seq=999"),
          );

          // Each instance restores its own newest data.
          for (const db of [dbA, dbB]) await srv.sql(`DROP DATABASE \`${db}\``);
          equal(restored(await runJob(srv, RESTORE_SCRIPT, a)).backup, reportsA[4]);
          equal(await tableDigest(srv, dbA, "gen"), digestsA[4]);
          equal((await srv.sql("SELECT DISTINCT who FROM gen", dbA)).trim(), "a");
          const rb = restored(await runJob(srv, RESTORE_SCRIPT, b));
          equal(
            rb.backup,
            `${shared}/${forged}.sql`,
            "B's newest by sequence is the forged copy of its own data",
          );
          equal(await tableDigest(srv, dbB, "gen"), digestsB[2]);
          // An instance with no backups of its own, in the same directory, gets nothing.
          const none = await runJob(srv, RESTORE_SCRIPT, {
            ...a,
            instanceId: "team/new",
            database: `rn_${rand()}`,
          });
          equal(none.report?.result, "NothingToRestore");

          // Retention 0 (or garbage) never deletes the last good backup.
          const zero = backedUp(await runJob(srv, BACKUP_SCRIPT, { ...c, retention: 0 }));
          deepStrictEqual([...completeBackups(`${backupDir}/team_c`).keys()], [stemOf(zero.file)]);
          const junk = backedUp(await runJob(srv, BACKUP_SCRIPT, { ...c, retention: "lots" }));
          equal(
            completeBackups(`${backupDir}/team_c`).size,
            2,
            `${junk.file}: garbage retention keeps 7`,
          );
          for (const db of [dbA, dbB, dbC]) await srv.sql(`DROP DATABASE IF EXISTS \`${db}\``);
        },
      );

      await t.step(
        "a corrupt newest backup: the restore falls back to the next good one and says so",
        async () => {
          const db = `cor_${rand()}`;
          const backupDir = newInstanceDir("corrupt");
          const inst: Instance = { database: db, instanceId: "prod/cor", backupDir, subdir: "prod_cor" };
          await srv.sql(`CREATE DATABASE \`${db}\`; CREATE TABLE \`${db}\`.t (id INT PRIMARY KEY);`);
          await srv.sql("INSERT INTO t VALUES (1)", db);
          const first = backedUp(await runJob(srv, BACKUP_SCRIPT, inst));
          await srv.sql("INSERT INTO t VALUES (2)", db);
          const second = backedUp(await runJob(srv, BACKUP_SCRIPT, inst));
          // Flip one byte in the middle of the newest dump (same size, still ends with the completion line).
          const path = `${backupDir}/${second.file}`;
          const bytes = Deno.readFileSync(path);
          const at = new TextDecoder().decode(bytes).indexOf("(2)"); // the dump is ASCII: INSERT ... VALUES (1),(2)
          ok(at > 0);
          bytes[at + 1] = 0x33;
          Deno.writeFileSync(path, bytes);

          await srv.sql(`DROP DATABASE \`${db}\``);
          const r = restored(await runJob(srv, RESTORE_SCRIPT, inst));
          equal(r.backup, first.file);
          ok(
            r.message?.includes(`skipped newer backups that failed verification: ${stemOf(second.file)}.sql`),
            r.message,
          );
          equal((await srv.sql("SELECT GROUP_CONCAT(id) FROM t", db)).trim(), "1");

          // Every backup corrupt: NoValidBackup, nothing loaded.
          const firstPath = `${backupDir}/${first.file}`;
          Deno.writeTextFileSync(
            firstPath,
            Deno.readTextFileSync(firstPath).replace("-- Dump completed", "-- Dump cut"),
          );
          await srv.sql(`DROP DATABASE \`${db}\`; CREATE DATABASE \`${db}\`;`);
          failed(await runJob(srv, RESTORE_SCRIPT, inst), "NoValidBackup");
          equal((await srv.sql(`SHOW TABLES FROM \`${db}\``)).trim(), "");
          await srv.sql(`DROP DATABASE \`${db}\``);
        },
      );

      await t.step("the password never appears on a command line while the clients run", async () => {
        const db = `pw_${rand()}`;
        const backupDir = newInstanceDir("password");
        const inst: Instance = { database: db, instanceId: "sec/pw", backupDir, subdir: "sec_pw" };
        await createBigDatabase(srv, db, 100_000);
        const fragments = [PASSWORD, ...PASSWORD.split("\n").filter((p) => p.trim().length >= 8)];

        const scan = async (script: string, clientNames: string[]) => {
          const run = spawnJob(srv, script, inst);
          let finished = false;
          run.done.then(() => finished = true);
          let scans = 0, sawClient = 0;
          const violations = new Set<string>();
          while (!finished) {
            for (const p of processes()) {
              const cmdline = p.argv.join(" ");
              if (fragments.some((f) => cmdline.includes(f))) {
                violations.add(`password in argv of ${p.argv[0]}`);
              }
              if (!isClient(p, clientNames, db)) continue;
              sawClient++;
              // Clients mask a password option in their argv at once: even a masked one must not be there.
              if (p.argv.some((a) => /^(--password|-p.)/.test(a))) {
                violations.add(`password option: ${cmdline}`);
              }
              if (!p.argv.some((a) => a.startsWith("--defaults-extra-file="))) {
                violations.add(`no option file: ${cmdline}`);
              }
              try {
                const environ = new TextDecoder().decode(Deno.readFileSync(`/proc/${p.pid}/environ`));
                if (environ.includes(PASSWORD)) violations.add(`password in the environment of ${p.argv[0]}`);
              } catch {
                // exited meanwhile
              }
            }
            scans++;
            await new Promise((r) => setTimeout(r, 0));
          }
          const res = await run.done;
          checkRun(res, inst);
          deepStrictEqual([...violations], []);
          ok(sawClient > 0, `the scan never saw ${clientNames.join("/")} running (${scans} scans)`);
          return { res, scans, sawClient };
        };

        const backup = await scan(BACKUP_SCRIPT, DUMP_NAMES);
        backedUp(backup.res);
        console.log(`password scan (backup): ${backup.scans} scans, dump seen in ${backup.sawClient}`);
        await srv.sql(`DROP DATABASE \`${db}\``);
        const restore = await scan(RESTORE_SCRIPT, ["mariadb", "mysql"]);
        restored(restore.res);
        console.log(`password scan (restore): ${restore.scans} scans, client seen in ${restore.sawClient}`);
        await srv.sql(`DROP DATABASE \`${db}\``);
      });

      await t.step({
        name: "busybox sh with MySQL-named clients (mysqldump/mysql only on PATH): round trip",
        ignore: !busybox.ok,
        async fn() {
          const bb = (await which("busybox"))!;
          const bin = `${root}/busybox-bin`;
          Deno.mkdirSync(bin);
          const applets = (await new Deno.Command(bb, { args: ["--list"], stdout: "piped" }).output()).stdout;
          for (
            const applet of new TextDecoder().decode(applets).split("\n").filter((a) =>
              /^[a-z0-9_.-]+$/.test(a)
            )
          ) {
            Deno.symlinkSync(bb, `${bin}/${applet}`);
          }
          Deno.symlinkSync((await which("mariadb-dump"))!, `${bin}/mysqldump`);
          Deno.symlinkSync((await which("mariadb"))!, `${bin}/mysql`);
          const db = `bb_${rand()}`;
          const backupDir = newInstanceDir("busybox");
          const inst: Instance = { database: db, instanceId: "bb/x", backupDir, subdir: "bb_x" };
          await createAwkwardDatabase(srv, db);
          const before = await awkwardState(srv, db);
          const opts = { shell: [`${bin}/sh`], path: bin };
          const report = backedUp(await runJob(srv, BACKUP_SCRIPT, inst, opts));
          ok(
            Deno.readTextFileSync(`${backupDir}/${report.file.replace(/\.sql$/, ".manifest")}`).includes(
              "tool=",
            ),
          );
          await srv.sql(`DROP DATABASE \`${db}\``);
          equal(restored(await runJob(srv, RESTORE_SCRIPT, inst, opts)).backup, report.file);
          deepStrictEqual(await awkwardState(srv, db), before);
          failed(await runJob(srv, RESTORE_SCRIPT, inst, opts), "DatabaseNotEmpty");
          await srv.sql(`DROP DATABASE \`${db}\``);
        },
      });
    } finally {
      await srv.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

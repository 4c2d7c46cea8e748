import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { BACKUP_SCRIPT, STORE_BACKUP_SCRIPT } from "./backup_script.ts";
import { STORE_RESTORE_SCRIPT } from "./restore_script.ts";
import { COMMON_SH } from "./job_scripts.ts";
import { installed, lintJobScript } from "./_script_lint.ts";
import { parseJobReport } from "./job_report.ts";

Deno.test("the backup scripts are POSIX sh (no bashisms; dash, busybox, posh parse them)", async () => {
  const used = await lintJobScript(BACKUP_SCRIPT);
  await lintJobScript(STORE_BACKUP_SCRIPT);
  console.log(`parsed by: ${used.join(", ")}`);
});

Deno.test("the password never reaches a command line", () => {
  // The only uses of MYSQL_PASSWORD: the presence check, awk's ENVIRON and the unset.
  const uses = [...BACKUP_SCRIPT.matchAll(/MYSQL_PASSWORD[^\n]*/g)].map((m) => m[0]);
  deepStrictEqual(uses, [
    "MYSQL_PASSWORD+set}\" = set ] || fail InvalidEnvironment 'MYSQL_PASSWORD must be set'",
    'MYSQL_PASSWORD"])',
    "MYSQL_PASSWORD is too long for a client option file'",
    "MYSQL_PASSWORD",
  ]);
  ok(!/--password|\s-p\S|MYSQL_PWD/.test(BACKUP_SCRIPT), "no password option or MYSQL_PWD");
  ok(BACKUP_SCRIPT.includes('--defaults-extra-file="$cnf"'));
});

Deno.test("the dump is consistent, complete and never piped", () => {
  const dumpLine = BACKUP_SCRIPT.split("\n").findIndex((l) => l.startsWith('"$dump" --defaults-extra-file'));
  ok(dumpLine >= 0);
  const command = BACKUP_SCRIPT.split("\n").slice(dumpLine, dumpLine + 2).join("\n");
  for (const opt of ["--single-transaction", "--routines", "--triggers", "--events", '"$MYSQL_DATABASE"']) {
    ok(command.includes(opt), `dump lacks ${opt}`);
  }
  ok(!command.includes("|"), "the dump is piped");
  ok(command.trimEnd().endsWith("&"), "the dump runs in the background and is waited for");
});

/**
 * Proves the option-file quoting with the clients' own parser: `my_print_defaults` (MariaDB client package)
 * prints the options a client would read. The integration test proves the same against a real server.
 */
Deno.test({
  name: "option file: passwords round-trip through the client's own parser",
  ignore: !(await installed("my_print_defaults")),
  async fn() {
    const passwords = [
      "simple",
      "",
      " lead and trail ",
      "'single' \"double\" `back`",
      "$HOME ${PATH} $(id) \\$ \\\\",
      "#comment ;semi = equals",
      "line1\nline2\n",
      "tab\there\r\nCR \b backspace",
      "ends with backslash\\",
      '"',
      "'",
      "\\",
      "\\n is not a newline, \\s is not a space",
      "ünïcödé ✓ 密码",
      "x".repeat(3000),
    ];
    // All printable ASCII in one password too.
    passwords.push(Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(""));
    const script = COMMON_SH +
      '\nmake_work\nwrite_credentials\nmy_print_defaults --defaults-file="$cnf" client\ncleanup\n';
    for (const password of passwords) {
      const out = await new Deno.Command("sh", {
        args: ["-c", script],
        env: { MYSQL_PASSWORD: password, MYSQL_HOST: "db.example", MYSQL_PORT: "3306", MYSQL_USER: "u s'r" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const start = text.indexOf("--password=") + "--password=".length;
      const end = text.indexOf("\n--host=");
      equal(text.slice(start, end), password, `password ${JSON.stringify(password)} did not round-trip`);
      ok(text.startsWith("--user=u s'r\n"), text);
      ok(text.endsWith("\n--host=db.example\n--port=3306\n--protocol=TCP\n"), text);
    }
  },
});

Deno.test("option file: a password too long for one option-file line fails clearly", async () => {
  const out = await new Deno.Command("sh", {
    args: ["-c", COMMON_SH + "\nmake_work\nwrite_credentials\necho written\n"],
    env: { MYSQL_PASSWORD: "x".repeat(5000), MYSQL_HOST: "h", REPORT_FILE: "/dev/null" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.code, 1);
  const text = new TextDecoder().decode(out.stdout);
  ok(text.includes('"reason":"InvalidEnvironment"'), text);
  ok(!text.includes("written"));
});

Deno.test("functions only assign _-prefixed variables or the script's declared globals", () => {
  // POSIX sh has no locals: a function that reuses a caller's name (say `stem`) silently changes it.
  const globals = new Set([
    "work",
    "child",
    "tmp_dump",
    "tmp_manifest",
    "unfinished",
    "pids",
    "remote_unfinished",
    "rclone_opts",
    "cnf",
    "rc",
    "dir",
    "tag",
    "MYSQL_PORT",
    "MYSQL_USER",
    "IFS", // only as a prefix: IFS= read -r
    // store_restore.sh's read_dump: its outputs
    "got",
    "last",
    "sink_rc",
    // retention_keep, new_stem, undo_partial_load, verify_tables: their outputs
    "keep",
    "stem",
    "started",
    "undo",
    "verified",
  ]);
  const bodies = [BACKUP_SCRIPT, STORE_BACKUP_SCRIPT, STORE_RESTORE_SCRIPT].flatMap((script) => [
    ...script.matchAll(/^([a-z_]+)\(\) \{\n([\s\S]*?)^\}/gm),
  ]);
  ok(bodies.length >= 10, `found ${bodies.length} functions`);
  for (const [, name, body] of bodies) {
    const assigned = [
      ...[...body.matchAll(/(?:^|[\s;(])([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]),
      ...[...body.matchAll(/\bfor ([A-Za-z_][A-Za-z0-9_]*) in/g)].map((m) => m[1]),
      ...[...body.matchAll(/\bread -r ((?:[A-Za-z_][A-Za-z0-9_]* ?)+)/g)].flatMap((m) =>
        m[1].trim().split(" ")
      ),
    ];
    for (const v of assigned) ok(v.startsWith("_") || globals.has(v), `function ${name} assigns ${v}`);
  }
});

/**
 * Runs the backup script as a Job does (`sh -c`, the contract's environment), with a stand-in dump tool first on
 * PATH that exits 0 after writing `dump` (no server needed: only the final backup talks to mysqld before the
 * dump). Returns the report and the files left in the instance's backup directory.
 */
async function backupWithFakeDump(dump: string) {
  const root = await Deno.makeTempDir({ prefix: "backup-dump-check-" });
  try {
    const bin = `${root}/bin`, backupDir = `${root}/backup`, tmp = `${root}/tmp`;
    for (const d of [bin, backupDir, tmp]) Deno.mkdirSync(d);
    Deno.writeTextFileSync(`${root}/dump.sql`, dump);
    // Both names: the script picks mariadb-dump first, which a machine with MariaDB's client has installed.
    const fake = `#!/bin/sh\ncase "$1" in --help|--version) echo "fake dump 1.0"; exit 0 ;; esac\n` +
      `cat "${root}/dump.sql"\n`;
    for (const name of ["mariadb-dump", "mysqldump"]) {
      Deno.writeTextFileSync(`${bin}/${name}`, fake, { mode: 0o755 });
    }
    const out = await new Deno.Command("sh", {
      args: ["-c", BACKUP_SCRIPT],
      clearEnv: true,
      env: {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
        TMPDIR: tmp,
        REPORT_FILE: `${root}/termination-log`,
        MYSQL_HOST: "127.0.0.1",
        MYSQL_PASSWORD: "pw",
        MYSQL_DATABASE: "shop",
        INSTANCE_ID: "ns/db",
        INSTANCE_UID: "6c0f3c1e-0000-4000-8000-000000000001",
        JOB_UID: "7d1e4f2a-0000-4000-8000-000000000001",
        BACKUP_DIR: backupDir,
        BACKUP_SUBDIR: "ns_db",
        BACKUP_REASON: "manual",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    let files: string[] = [];
    try {
      files = [...Deno.readDirSync(`${backupDir}/ns_db`)].map((e) => e.name).sort();
    } catch { /* never created */ }
    return {
      code: out.code,
      stderr: new TextDecoder().decode(out.stderr),
      report: parseJobReport(Deno.readTextFileSync(`${root}/termination-log`)),
      files,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a dump that exits 0 counts only when it is not empty and ends with the completion line", async () => {
  // The control: a complete dump is a backup (so the refusals below are the checks at work, not the harness).
  const good = await backupWithFakeDump(
    "CREATE TABLE t (id INT);\n-- Dump completed on 2026-12-02 12:00:00\n",
  );
  equal(good.code, 0, good.stderr);
  equal(good.report?.result, "BackedUp", JSON.stringify(good.report));
  equal(good.files.filter((f) => f.endsWith(".sql")).length, 1, good.files.join(" "));
  equal(good.files.filter((f) => f.endsWith(".manifest")).length, 1, good.files.join(" "));

  const refused: Array<[what: string, dump: string, message: string]> = [
    ["an empty dump", "", "wrote nothing"],
    ["a dump cut short", "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1),", "completion line"],
    [
      "a dump whose completion line is not last",
      "-- Dump completed on 2026-12-02\nDROP TABLE t;\n",
      "completion line",
    ],
  ];
  for (const [what, dump, message] of refused) {
    const r = await backupWithFakeDump(dump);
    equal(r.code, 1, `${what}: exit status`);
    ok(r.report?.result === "Failed", `${what}: ${JSON.stringify(r.report)}`);
    equal(r.report.reason, "DumpIncomplete", what);
    ok(r.report.message.includes(message), `${what}: ${r.report.message}`);
    // Nothing that could count as a backup, and no temporary file left behind.
    deepStrictEqual(r.files, [], `${what}: files left`);
  }
});

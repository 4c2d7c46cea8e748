import { equal, ok } from "node:assert/strict";
import { RESTORE_SCRIPT, STORE_RESTORE_SCRIPT } from "./restore_script.ts";
import { COMMON_SH } from "./job_scripts.ts";
import { lintJobScript } from "./_script_lint.ts";
import { parseJobReport } from "./job_report.ts";

Deno.test("the restore scripts are POSIX sh (no bashisms; dash, busybox, posh parse them)", async () => {
  await lintJobScript(STORE_RESTORE_SCRIPT);
  const used = await lintJobScript(RESTORE_SCRIPT);
  console.log(`parsed by: ${used.join(", ")}`);
});

Deno.test("the restore script shares the common part and never puts the password on a command line", () => {
  ok(RESTORE_SCRIPT.includes(COMMON_SH));
  const body = RESTORE_SCRIPT.slice(RESTORE_SCRIPT.indexOf(COMMON_SH) + COMMON_SH.length);
  ok(!body.includes("MYSQL_PASSWORD"), "only the common part handles the password");
  ok(!/--password|\s-p\S|MYSQL_PWD/.test(RESTORE_SCRIPT));
  // Every client call reads the option file.
  for (const line of body.split("\n").filter((l) => l.startsWith('"$client"'))) {
    ok(line.startsWith('"$client" --defaults-extra-file="$cnf"'), line);
  }
});

Deno.test("the restore checks emptiness before loading and loads without a pipe", () => {
  const check = RESTORE_SCRIPT.indexOf("information_schema.TABLES");
  const load = RESTORE_SCRIPT.indexOf('"$db" < "$dir/$chosen.sql"');
  ok(check > 0 && load > check, "emptiness is checked first");
  const loadLine = RESTORE_SCRIPT.split("\n").find((l) => l.includes('< "$dir/$chosen.sql"')) ?? "";
  ok(!loadLine.includes("|") && loadLine.trimEnd().endsWith("&"), loadLine);
});

/**
 * A directory holding a stand-in `mariadb` client that records every call in `calls`, for a PATH on which the
 * script finds a client without the host having one installed (the unit test needs no host tool).
 */
async function standInClient(dir: string): Promise<{ bin: string; calls: string }> {
  const bin = `${dir}/bin`;
  const calls = `${dir}/client-calls`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(`${bin}/mariadb`, `#!/bin/sh\necho "$*" >> '${calls}'\nexit 1\n`, { mode: 0o755 });
  return { bin, calls };
}

Deno.test("with no backup volume content the restore reports NothingToRestore and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "restore-empty-" });
  try {
    // No server is needed: with no backup the script never connects (the stand-in client proves it).
    const client = await standInClient(dir);
    const out = await new Deno.Command("sh", {
      args: ["-c", RESTORE_SCRIPT],
      clearEnv: true,
      env: {
        PATH: `${client.bin}:/usr/bin:/bin`,
        MYSQL_HOST: "127.0.0.1",
        MYSQL_PORT: "1",
        MYSQL_USER: "root",
        MYSQL_PASSWORD: "x",
        MYSQL_DATABASE: "db",
        INSTANCE_ID: "ns/name",
        INSTANCE_UID: "0f0e",
        BACKUP_DIR: dir,
        BACKUP_SUBDIR: "ns_name",
        REPORT_FILE: `${dir}/report`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    equal(
      await Deno.readTextFile(`${dir}/report`),
      '{"result":"NothingToRestore","message":"no complete backup of ns/name in ns_name"}\n',
    );
    const called = await Deno.readTextFile(client.calls).catch(() => "");
    equal(called, "", "the client was run although there was nothing to restore");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed environment fails with InvalidEnvironment before touching anything", async () => {
  const dir = await Deno.makeTempDir({ prefix: "restore-env-" });
  try {
    const base = {
      MYSQL_HOST: "127.0.0.1",
      MYSQL_PASSWORD: "x",
      MYSQL_DATABASE: "db",
      INSTANCE_ID: "ns/name",
      BACKUP_DIR: dir,
      BACKUP_SUBDIR: "ns_name",
      REPORT_FILE: `${dir}/report`,
    };
    const bad: Record<string, string>[] = [
      { MYSQL_DATABASE: "db`; DROP" },
      { MYSQL_DATABASE: "" },
      { INSTANCE_ID: "" },
      { INSTANCE_ID: "ns/name\nx" },
      { BACKUP_SUBDIR: "../etc" },
      { BACKUP_SUBDIR: ".." },
      { MYSQL_PORT: "33o6" },
    ];
    for (const patch of bad) {
      const out = await new Deno.Command("sh", {
        args: ["-c", RESTORE_SCRIPT],
        env: { ...base, ...patch },
        stdout: "null",
        stderr: "null",
      }).output();
      equal(out.code, 1, JSON.stringify(patch));
      const report = await Deno.readTextFile(`${dir}/report`);
      ok(report.startsWith('{"result":"Failed","reason":"InvalidEnvironment"'), report);
    }
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
    equal(entries.join(","), "report");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the restore's report names its Job (JOB_UID), so the operator can verify it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "restore-uid-" });
  const jobUid = "11111111-2222-4333-8444-555555555555";
  try {
    const client = await standInClient(dir);
    const out = await new Deno.Command("sh", {
      args: ["-c", RESTORE_SCRIPT],
      clearEnv: true,
      env: {
        PATH: `${client.bin}:/usr/bin:/bin`,
        JOB_UID: jobUid,
        MYSQL_HOST: "127.0.0.1",
        MYSQL_PASSWORD: "x",
        MYSQL_DATABASE: "db",
        INSTANCE_ID: "ns/name",
        BACKUP_DIR: dir,
        BACKUP_SUBDIR: "ns_name",
        REPORT_FILE: `${dir}/report`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const text = await Deno.readTextFile(`${dir}/report`);
    ok(text.startsWith(`{"jobUid":"${jobUid}","result":"NothingToRestore"`), text);
    // The operator's parser takes it, with the UID readJobReport compares to the Job's.
    equal(parseJobReport(text)?.jobUid, jobUid);
    // The same line goes to stdout, for `kubectl logs`.
    equal(new TextDecoder().decode(out.stdout), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { equal, ok } from "node:assert/strict";
import { RESTORE_SCRIPT } from "./restore_script.ts";
import { COMMON_SH } from "./backup_script.ts";

/** Constructs that dash, busybox sh or posh reject or treat differently from bash. */
const BASHISMS = [/\[\[/, /pipefail/, /^\s*local\s/m, /^\s*function\s/m, /\$'/, /<<</, /&>/, /\[ [^\]]*==/];

async function parses(
  cmd: string,
  args: string[],
  script: string,
): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "script-lint-" });
  try {
    await Deno.writeTextFile(`${dir}/script.sh`, script);
    const out = await new Deno.Command(cmd, {
      args: [...args, `${dir}/script.sh`],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return { code: out.code, output: new TextDecoder().decode(out.stderr) };
  } catch {
    return { code: -1, output: `${cmd} not installed` };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the restore script is POSIX sh (no bashisms; dash, busybox, posh parse it)", async () => {
  for (const re of BASHISMS) ok(!re.test(RESTORE_SCRIPT), `script matches ${re}`);
  ok(!RESTORE_SCRIPT.includes("\\${"), "a JavaScript escape leaked into the script");
  const dash = await parses("dash", ["-n"], RESTORE_SCRIPT);
  equal(dash.code, 0, dash.output);
  for (
    const [cmd, args] of [["busybox", ["sh", "-n"]], ["posh", ["-n"]], ["checkbashisms", [
      "--posix",
    ]]] as const
  ) {
    // The Job runs the text with `sh -c`; checkbashisms wants to see the interpreter line.
    const res = await parses(
      cmd,
      [...args],
      cmd === "checkbashisms" ? "#!/bin/sh\n" + RESTORE_SCRIPT : RESTORE_SCRIPT,
    );
    if (res.code === -1) console.log(`${cmd} not installed: skipped`);
    else equal(res.code, 0, `${cmd}: ${res.output}`);
  }
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

Deno.test("with no backup volume content the restore reports NothingToRestore and exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "restore-empty-" });
  try {
    // No server is needed: with no backup the script never connects.
    const out = await new Deno.Command("sh", {
      args: ["-c", RESTORE_SCRIPT],
      env: {
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

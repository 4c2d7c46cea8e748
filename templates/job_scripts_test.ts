/**
 * The part the backup and restore scripts share (templates/scripts/common.sh), run for real by `sh`: the client
 * option file that holds the password.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { COMMON_SH } from "./job_scripts.ts";
import { BACKUP_SCRIPT } from "./backup_script.ts";
import { RESTORE_SCRIPT } from "./restore_script.ts";

const PASSWORD = "s3cret pw 'x' $HOME";

Deno.test("the client option file is mode 600 in a mode-700 directory, whatever the umask; the password leaves the environment", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "job-shell-test-" });
  try {
    // A permissive umask first (as an image might have): the script must not depend on the one it inherits.
    const script = "umask 000\n" + COMMON_SH +
      '\nmake_work\nwrite_credentials\nstat -c "%a" "$work" "$cnf"\nenv\ncleanup\n';
    const out = await new Deno.Command("sh", {
      args: ["-c", script],
      env: { MYSQL_PASSWORD: PASSWORD, MYSQL_HOST: "db.example", TMPDIR: tmp, REPORT_FILE: "/dev/null" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const [dirMode, fileMode] = text.split("\n");
    equal(dirMode, "700", "the temporary directory holding the option file");
    equal(fileMode, "600", "the option file");
    ok(!text.includes(PASSWORD), "the password is still in the environment of later commands");
    deepStrictEqual([...Deno.readDirSync(tmp)], [], "the option file and its directory are removed");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("both Job scripts write their credentials with this code, before any client runs", () => {
  for (const [name, script] of [["backup", BACKUP_SCRIPT], ["restore", RESTORE_SCRIPT]] as const) {
    ok(script.includes(COMMON_SH), `the ${name} script contains COMMON_SH verbatim`);
    const body = script.slice(script.indexOf(COMMON_SH) + COMMON_SH.length);
    const written = body.indexOf("\nwrite_credentials\n");
    ok(written >= 0, `the ${name} script calls write_credentials`);
    const firstClient = body.search(/"\$(client|dump)"/);
    ok(firstClient > written, `the ${name} script runs a client before write_credentials`);
  }
});

/**
 * The part the backup and restore scripts share (templates/scripts/common.sh), run for real by `sh`: the client
 * option file that holds the password.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { COMMON_SH, STORE_SH } from "./job_scripts.ts";
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

Deno.test("the object store's variables: a path that climbs, a sequence that is not a number, a bad context name fail with InvalidEnvironment", async () => {
  const bin = await Deno.makeTempDir({ prefix: "job-shell-test-" });
  try {
    // A stand-in rclone (never run): check_store_env only looks for it on PATH.
    await Deno.writeTextFile(`${bin}/rclone`, "#!/bin/sh\nexit 99\n", { mode: 0o755 });
    const run = async (env: Record<string, string>, extra = "") => {
      const out = await new Deno.Command("sh", {
        args: ["-c", COMMON_SH + STORE_SH + "\ncheck_store_env\n" + extra + "echo checked\n"],
        env: { PATH: `${bin}:/usr/bin:/bin`, REPORT_FILE: "/dev/null", ...env },
        clearEnv: true,
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout);
    };
    const bad: [Record<string, string>, string][] = [
      [{ STORE_PATH: "" }, "STORE_PATH must be bucket/prefix/..."],
      [{ STORE_PATH: "bkt/../other/ns/db" }, "STORE_PATH must not hold . or .. parts"],
      [{ STORE_PATH: "/bkt/ns/db" }, "STORE_PATH must be bucket/prefix/..."],
      [{ STORE_PATH: "bkt/ns db" }, "STORE_PATH must be bucket/prefix/..."],
      [{ STORE_PATH: "bkt/ns/db", INSTANCE_CLUSTER: "a b" }, "INSTANCE_CLUSTER must be a context name"],
    ];
    for (const [env, message] of bad) {
      const text = await run(env);
      ok(
        text.includes('"reason":"InvalidEnvironment"') && text.includes(message),
        `${JSON.stringify(env)}: ${text}`,
      );
      ok(!text.includes("checked"));
    }
    ok((await run({ STORE_PATH: "bkt/mo/mo-1/ns/db", INSTANCE_CLUSTER: "mo-1" })).includes("checked"));
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

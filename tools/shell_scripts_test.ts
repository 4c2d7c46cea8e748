import { equal, match, notEqual } from "node:assert/strict";
import { ensurePackages } from "./real_node/host.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Every shell script of the repository that runs as a file. */
const SCRIPTS = [".ci/run", "tools/fresh_check.sh", "tools/cluster/build.sh"];
/**
 * The Jobs' scripts and the parts they source (templates/scripts/). `-x` follows the sourcing, so each part is read
 * in the context the Jobs run it in (as `deno task gen` embeds it); shellcheck reports only on files it was given,
 * so the parts are named too.
 */
const JOB_SCRIPTS = [
  "backup.sh",
  "restore.sh",
  "store_backup.sh",
  "store_restore.sh",
  "common.sh",
  "store.sh",
  "load.sh",
  "freeze.sh",
];
const JOB_SCRIPTS_DIR = `${ROOT}templates/scripts`;

/** shellcheck from Debian's package, installed by the test itself where it can (root with apt-get). */
const missing = await ensurePackages([{ pkg: "shellcheck", file: "/usr/bin/shellcheck" }]).then(
  () => undefined,
  (e) => (e instanceof Error ? e.message : String(e)),
);
if (missing) console.warn(`SKIPPED tools/shell_scripts_test.ts: shellcheck not installed (${missing})`);

async function shellcheck(args: string[], cwd = ROOT) {
  const out = await new Deno.Command("shellcheck", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test({
  name: "shellcheck finds nothing in the repository's shell scripts",
  ignore: missing !== undefined,
  async fn() {
    const res = await shellcheck(SCRIPTS);
    equal(res.code, 0, res.text);
  },
});

Deno.test({
  name: "shellcheck finds nothing in the Jobs' scripts, the parts they source included",
  ignore: missing !== undefined,
  async fn() {
    const res = await shellcheck(["-x", ...JOB_SCRIPTS], JOB_SCRIPTS_DIR);
    equal(res.code, 0, res.text);
  },
});

Deno.test({
  name: "the Jobs' check covers the sourced parts: a fault planted in common.sh is reported",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "shellcheck-test-" });
    try {
      for (const file of JOB_SCRIPTS) await Deno.copyFile(`${JOB_SCRIPTS_DIR}/${file}`, `${dir}/${file}`);
      // `==` in `[` is a bashism that dash rejects: SC3014 in a script for sh.
      await Deno.writeTextFile(`${dir}/common.sh`, '\nif [ "$1" == x ]; then :; fi\n', { append: true });
      const res = await shellcheck(["-x", ...JOB_SCRIPTS], dir);
      notEqual(res.code, 0, "shellcheck passed a script whose sourced part has a fault");
      match(res.text, /common\.sh.*\n[\s\S]*SC3014/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

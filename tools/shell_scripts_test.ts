import { equal } from "node:assert/strict";
import { ensurePackages } from "./real_node/host.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Every shell script of the repository that runs as a file (the Jobs' scripts are checked in templates/). */
const SCRIPTS = [".ci/run", "tools/fresh_check.sh", "tools/cluster/build.sh"];

/** shellcheck from Debian's package, installed by the test itself where it can (root with apt-get). */
const missing = await ensurePackages([{ pkg: "shellcheck", file: "/usr/bin/shellcheck" }]).then(
  () => undefined,
  (e) => (e instanceof Error ? e.message : String(e)),
);
if (missing) console.warn(`SKIPPED tools/shell_scripts_test.ts: shellcheck not installed (${missing})`);

Deno.test({
  name: "shellcheck finds nothing in the repository's shell scripts",
  ignore: missing !== undefined,
  async fn() {
    const out = await new Deno.Command("shellcheck", { args: SCRIPTS, cwd: ROOT, stdout: "piped" }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stdout));
  },
});

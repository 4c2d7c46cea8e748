/**
 * Test helper (not product code): checks the Jobs' shell scripts for bashisms and parses them with every POSIX-ish
 * shell, which it installs itself from Debian's packages where it can (root with apt-get).
 *
 * @module
 */
import { equal, ok } from "node:assert/strict";
import { ensurePackages } from "../tools/real_node/host.ts";

/** Constructs that dash, busybox sh or posh reject or treat differently from bash. */
const BASHISMS: [RegExp, string][] = [
  [/\[\[/, "[["],
  [/pipefail/, "pipefail"],
  [/^\s*local\s/m, "local"],
  [/^\s*function\s/m, "function keyword"],
  [/\$'/, "$'...'"],
  [/<<</, "here-string"],
  [/&>/, "&>"],
  [/\$\{[A-Za-z_]+:[0-9]/, "substring expansion"],
  [/\$\{[A-Za-z_]+\/\//, "pattern substitution"],
  [/\$RANDOM|\$BASH|\$PIPESTATUS/, "bash variable"],
  [/^\s*(source|declare|typeset|let|select|shopt)\s/m, "bash builtin"],
  [/\becho -[en]/, "echo option"],
  [/\[ [^\]]*==/, "== in test"],
  [/\$\(\(\s*[A-Za-z_]+\+\+/, "++"],
];

/** Programs that can parse a script without running it, when installed. */
const PARSERS: [string, string[]][] = [
  ["dash", ["-n"]],
  ["busybox", ["sh", "-n"]],
  ["posh", ["-n"]],
  ["bash", ["--posix", "-n"]],
];

/**
 * The shells and the client's option parser these tests run, from Debian's packages. Installed by the tests
 * themselves (root with apt-get), so that what runs does not depend on what another test installed first;
 * elsewhere the tests say what they skipped. checkbashisms (devscripts, 43 packages) stays optional.
 */
const SCRIPT_TOOLS = [
  { pkg: "dash", file: "/bin/dash" },
  { pkg: "busybox", file: "/bin/busybox" },
  { pkg: "posh", file: "/bin/posh" },
  { pkg: "mariadb-client", file: "/usr/bin/my_print_defaults" },
];

/** Why the script tools could not be installed, or undefined when they are there. */
export const scriptToolsMissing: string | undefined = await ensurePackages(SCRIPT_TOOLS).then(
  () => undefined,
  (e) => (e instanceof Error ? e.message : String(e)),
);
// A SKIPPED line: `deno task test` names it at the end, and fails CI (root on Linux), where it could have run.
if (scriptToolsMissing) {
  console.warn(`SKIPPED busybox and posh checks of the Jobs' scripts: not installed (${scriptToolsMissing})`);
}

/** Whether `cmd` resolves on PATH. */
export async function installed(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", 'command -v "$1"', "sh", cmd], stdout: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function runWithScript(cmd: string, args: string[], script: string) {
  const dir = await Deno.makeTempDir({ prefix: "script-lint-" });
  try {
    await Deno.writeTextFile(`${dir}/script.sh`, script);
    const out = await new Deno.Command(cmd, {
      args: [...args, `${dir}/script.sh`],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Checks a job script for bashisms, then parses it with every POSIX-ish shell (and checkbashisms) present. */
export async function lintJobScript(script: string): Promise<string[]> {
  for (const [re, what] of BASHISMS) ok(!re.test(script), `script uses ${what}`);
  ok(!script.includes("\\${"), "a JavaScript escape leaked into the script");
  const used: string[] = [];
  for (const [cmd, args] of PARSERS) {
    if (!(await installed(cmd))) continue;
    const res = await runWithScript(cmd, args, script);
    equal(res.code, 0, `${cmd} ${args.join(" ")} rejects the script: ${res.output}`);
    used.push(cmd);
  }
  if (await installed("checkbashisms")) {
    // The Job runs the text with `sh -c`; checkbashisms wants to see the interpreter line.
    const res = await runWithScript("checkbashisms", ["--posix", "--extra"], "#!/bin/sh\n" + script);
    equal(res.code, 0, `checkbashisms: ${res.output}`);
    used.push("checkbashisms");
  } else {
    console.log("checkbashisms not installed (Debian package devscripts): skipped");
  }
  const required = scriptToolsMissing ? ["dash"] : ["dash", "busybox", "posh"];
  for (const cmd of required) ok(used.includes(cmd), `${cmd} must be present to check the script`);
  return used;
}

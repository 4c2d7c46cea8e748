/**
 * `deno task demo` as a user runs it after the README's set-up: it must end with every example object Ready.
 */
import { assert, assertStringIncludes } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("deno task demo ends with every example object Ready", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", "--exit"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `demo failed (exit ${out.code}):\n${stdout}\n${stderr}`);
  assertStringIncludes(stdout, "every example object is Ready");
  assertStringIncludes(stdout, "kubectl --context kwok-mo-1 get ms");
  const lastTable = stdout.slice(stdout.lastIndexOf("CLUSTER"));
  for (const name of ["mysql-instance", "orders"]) assertStringIncludes(lastTable, name);
  assert(!/\b(False|Unknown)\b/.test(lastTable.split("\n\n")[0]), `not all Ready:\n${lastTable}`);
});

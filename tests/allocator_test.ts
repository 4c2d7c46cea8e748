/**
 * The operator allocates with jemalloc wherever it runs as shipped: a process started with exactly the operator's
 * flags and environment (cli/permissions.ts) has jemalloc mapped and the loader says nothing; without the preload
 * the same probe sees glibc's allocator, so the probe can tell them apart.
 */
import { assertEquals } from "./_assert.ts";
import { OPERATOR_ENV, OPERATOR_FLAGS } from "../cli/permissions.ts";
import { ensureJemalloc } from "../tools/allocator.ts";

const available = await ensureJemalloc().catch((e) => {
  console.warn(`SKIPPED tests/allocator_test.ts: jemalloc could not be installed: ${e.message}`);
  return false;
});
if (!available && Deno.uid() !== 0) {
  console.warn("SKIPPED tests/allocator_test.ts: jemalloc missing and not root");
}

/**
 * Starts a process with the operator's flags and `env` that waits on its stdin, and returns which allocator its
 * address space has mapped (read from here: the operator's permissions do not cover /proc/self).
 */
async function allocatorOf(env: Record<string, string>): Promise<{ allocator: string; stderr: string }> {
  const probe = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(probe, 'console.log("ready");\nawait Deno.stdin.read(new Uint8Array(1));\n');
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...OPERATOR_FLAGS, probe],
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const maps = first.startsWith("ready") ? await Deno.readTextFile(`/proc/${child.pid}/maps`) : "";
    await child.stdin.close();
    reader.releaseLock();
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    if (!maps) throw new Error(`the probe did not start: ${first} ${stderr}`);
    return { allocator: /\/libjemalloc\.so[.\d]*$/m.test(maps) ? "jemalloc" : "glibc", stderr };
  } finally {
    await Deno.remove(probe);
  }
}

Deno.test({
  name: "the operator's environment preloads jemalloc (and the probe sees glibc's allocator without it)",
  ignore: !available,
  async fn() {
    const base = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root" };
    assertEquals(await allocatorOf({ ...base, ...OPERATOR_ENV }), { allocator: "jemalloc", stderr: "" });
    const { LD_PRELOAD: _, ...withoutPreload } = OPERATOR_ENV;
    assertEquals((await allocatorOf({ ...base, ...withoutPreload })).allocator, "glibc");
  },
});

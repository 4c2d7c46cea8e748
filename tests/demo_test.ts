/**
 * `deno task demo` as a user runs it after the README's set-up (on two clusters of its own, `--clusters`): it must
 * end with every example object Ready, made by this run.
 */
import { assert, assertStringIncludes } from "./_assert.ts";
import { dropFinalizers, ensureNamedClusters, kubectl, waitFor } from "./_clusters.ts";
import { clusterState } from "../tools/cluster/state.ts";
import { clusterPaths, contextName } from "../tools/cluster/paths.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const EXAMPLES = ["mysql-instance", "orders"];
/**
 * Clusters of the test's own: the demo applies into `default` and never deletes, so the test removes the example
 * objects of an earlier run first, which it must never do on the user's demo clusters (mo-1, mo-2).
 */
const CLUSTERS = ["mo-demo-test-1", "mo-demo-test-2"];

/** Removes earlier example objects from the test's demo clusters, so this run's demo must make them Ready again. */
async function removeEarlierExamples(): Promise<void> {
  const paths = await clusterPaths();
  for (const name of CLUSTERS) {
    if (!(await clusterState(paths, name)).exists) continue;
    await ensureNamedClusters([name]); // a stopped one keeps its objects: start it (the demo would) to remove them
    const ctx = contextName(name);
    for (const obj of EXAMPLES) {
      await dropFinalizers(ctx, `mysql/${obj}`, "default").catch(() => {}); // absent, or no CRD yet
      await kubectl(ctx, "delete", "mysql", obj, "-n", "default", "--ignore-not-found", "--wait=false").catch(
        () => {},
      );
    }
    await waitFor(
      `the earlier example objects in ${ctx} to be gone`,
      async () =>
        !(await kubectl(ctx, "get", "mysqls", "-n", "default", "-o", "name", "--ignore-not-found").catch(() =>
          ""
        ))
          .split("\n").some((l) => EXAMPLES.some((e) => l.endsWith(`/${e}`))),
      60_000,
    );
  }
}

Deno.test("deno task demo ends with every example object Ready", async () => {
  await removeEarlierExamples();
  const started = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", "--exit", "--clusters", CLUSTERS.join(",")],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `demo failed (exit ${out.code}):\n${stdout}\n${stderr}`);
  assertStringIncludes(stdout, "every example object is Ready");
  assertStringIncludes(stdout, `kubectl --context ${contextName(CLUSTERS[0])} get ms`);
  // The objects table of the last status printed (the per-cluster table after it is also headed CLUSTER).
  const heads = [...stdout.matchAll(/^CLUSTER +NAMESPACE +NAME\b/gm)];
  assert(heads.length > 0, `no objects table in the demo's output:\n${stdout}`);
  const lastTable = stdout.slice(heads[heads.length - 1].index);
  for (const name of EXAMPLES) assertStringIncludes(lastTable, name);
  assert(!/\b(False|Unknown)\b/.test(lastTable.split("\n\n")[0]), `not all Ready:\n${lastTable}`);
  // Made by this run (not left Ready by an earlier one): the course object in both clusters, orders in the second.
  const [first, second] = CLUSTERS.map(contextName);
  for (const [ctx, obj] of [[first, EXAMPLES[0]], [second, EXAMPLES[0]], [second, EXAMPLES[1]]]) {
    const created = await kubectl(
      ctx,
      "get",
      "mysql",
      obj,
      "-n",
      "default",
      "-o",
      "jsonpath={.metadata.creationTimestamp}",
    );
    assert(
      Date.parse(created) >= Math.floor(started / 1000) * 1000,
      `${ctx}/${obj} was created before this run`,
    );
  }
});

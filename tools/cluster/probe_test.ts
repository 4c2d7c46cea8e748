import { assert, assertEquals } from "../../tests/_assert.ts";
import type { ClusterPaths } from "./paths.ts";
import { controllersWorking } from "./probe.ts";

/**
 * A stand-in kubectl (a shell script) that logs its arguments and answers as `cases` says; the probe's handling of
 * a slow or dead API server is decision logic, tested without a cluster.
 */
async function fakeKubectl(
  cases: string,
): Promise<
  { paths: ClusterPaths; calls: () => Promise<string[]>; [Symbol.asyncDispose]: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "probe-test-" });
  const log = `${dir}/calls`;
  await Deno.writeTextFile(
    `${dir}/kubectl`,
    `#!/bin/sh\n# drop --kubeconfig FILE and --request-timeout=…\nshift 2; shift\necho "$*" >> '${log}'\n${cases}\n`,
    { mode: 0o755 },
  );
  const paths = {
    cache: dir,
    k8s: dir,
    etcd: dir,
    kwok: dir,
    bin: dir,
    workdir: dir,
    kubeconfig: "",
    lock: "",
  };
  return {
    paths,
    calls: async () => (await Deno.readTextFile(log)).trim().split("\n"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("controllersWorking: a create whose kubectl outlives its timeout after creating still proves the controllers", async () => {
  // As seen in CI: "namespace/… created" printed, then the call ran past its timeout.
  await using fake = await fakeKubectl(`case "$1 $2" in
  "create namespace") echo "namespace/$3 created"; exec sleep 5 ;;
  "get namespace") echo "namespace/$3" ;;
  "get serviceaccounts") echo serviceaccount/default ;;
  "delete namespace") echo deleted ;;
esac`);
  assert(
    await controllersWorking(fake.paths, "c", { commandMs: 500, totalMs: 10_000 }),
    "the probe says yes",
  );
  const done = await fake.calls();
  assert(
    done.some((c) => c.startsWith("delete namespace mo-probe-")),
    `the probe namespace is deleted: ${done}`,
  );
  assertEquals(done.filter((c) => c.startsWith("create namespace")).length, 1, "created once");
});

Deno.test("controllersWorking: an API server that refuses every call is a no, not an exception", async () => {
  await using fake = await fakeKubectl(`echo "connection refused" >&2; exit 1`);
  assertEquals(await controllersWorking(fake.paths, "c", { commandMs: 500, totalMs: 1_000 }), false);
  assert((await fake.calls()).some((c) => c.startsWith("delete namespace")), "a delete is still tried");
});

Deno.test("controllersWorking: no default ServiceAccount in time is a no", async () => {
  await using fake = await fakeKubectl(`case "$1 $2" in
  "create namespace") echo "namespace/$3 created" ;;
  "get serviceaccounts") echo "" ;;
esac`);
  assertEquals(await controllersWorking(fake.paths, "c", { commandMs: 500, totalMs: 1_000 }), false);
});

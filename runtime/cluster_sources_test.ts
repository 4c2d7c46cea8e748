import { deepStrictEqual, equal, match, notEqual, rejects } from "node:assert/strict";
import { stringify } from "yaml";
import { type OfferedCluster, planClusters, scanKubeconfigDir } from "./cluster_sources.ts";

const offered = (name: string, fingerprint: string) => ({ name, fingerprint, file: "f" }) as OfferedCluster;
const names = (cs: OfferedCluster[]) => cs.map((c) => c.name);

Deno.test("plan: added contexts start, changed ones restart, removed ones stop, others are left alone", () => {
  const running = new Map([["a", "1"], ["b", "1"], ["c", "1"]]);
  const plan = planClusters(running, [offered("a", "1"), offered("b", "2"), offered("d", "1")]);
  deepStrictEqual([names(plan.start), names(plan.restart), plan.stop], [["d"], ["b"], ["c"]]);
  // Nothing changed: nothing to do.
  const same = planClusters(running, [offered("a", "1"), offered("b", "1"), offered("c", "1")]);
  deepStrictEqual([same.start, same.restart, same.stop], [[], [], []]);
  // A context served from a flag (--context, --in-cluster) is never started, restarted or stopped from the directory.
  const fixed = planClusters(new Map([["d", "1"]]), [offered("x", "1"), offered("d", "9")], new Set(["x"]));
  deepStrictEqual([names(fixed.start), names(fixed.restart), fixed.stop], [[], ["d"], []]);
});

function kubeconfig(contexts: Array<{ name: string; server: string; token: string }>) {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: contexts.map((c) => ({ name: c.name, cluster: { server: c.server } })),
    users: contexts.map((c) => ({ name: c.name, user: { token: c.token } })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
    "current-context": contexts[0]?.name ?? "",
  });
}

Deno.test("scan: every context of every file; bad files, duplicates and dotfiles reported or skipped, never fatal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mo-kcdir-" });
  try {
    await Deno.writeTextFile(
      `${dir}/a.yaml`,
      kubeconfig([{ name: "east", server: "https://e:6443", token: "t1" }, {
        name: "west",
        server: "https://w:6443",
        token: "t2",
      }]),
    );
    await Deno.writeTextFile(
      `${dir}/b.yaml`,
      kubeconfig([{ name: "west", server: "https://x:6443", token: "t3" }]),
    );
    await Deno.writeTextFile(`${dir}/c.yaml`, "not: [a kubeconfig");
    await Deno.writeTextFile(
      `${dir}/d.yaml`,
      kubeconfig([{ name: "bad-url", server: "not a url", token: "t" }]),
    );
    await Deno.writeTextFile(`${dir}/.a.yaml.swp`, "editor junk");
    await Deno.mkdir(`${dir}/..data`);
    const scan = await scanKubeconfigDir(dir);
    deepStrictEqual(scan.clusters.map((c) => [c.name, c.file]), [
      ["east", `${dir}/a.yaml`],
      ["west", `${dir}/a.yaml`],
      ["bad-url", `${dir}/d.yaml`],
    ]);
    deepStrictEqual(scan.errors.map((e) => e.file), [`${dir}/b.yaml`, `${dir}/c.yaml`]);
    match(scan.errors[0].error, /context "west" is already offered by .*a\.yaml; ignored here/);
    // Nothing connects during a scan; what cannot connect says so when it is started.
    await rejects(() => scan.clusters[2].connect(), /invalid server URL/);
    equal((await scan.clusters[0].connect()).server, "https://e:6443");

    // A new token is a new fingerprint (re-credentialed); the same file read again is the same one.
    const before = scan.clusters[0].fingerprint;
    equal((await scanKubeconfigDir(dir)).clusters[0].fingerprint, before);
    await Deno.writeTextFile(
      `${dir}/a.yaml`,
      kubeconfig([{ name: "east", server: "https://e:6443", token: "rotated" }]),
    );
    const after = await scanKubeconfigDir(dir);
    notEqual(after.clusters[0].fingerprint, before);
    // west now comes from b.yaml (a.yaml no longer offers it): its server differs, so it would be restarted.
    deepStrictEqual(after.clusters.map((c) => [c.name, c.file]), [
      ["east", `${dir}/a.yaml`],
      ["west", `${dir}/b.yaml`],
      ["bad-url", `${dir}/d.yaml`],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: a directory that cannot be read is one error, no cluster", async () => {
  const scan = await scanKubeconfigDir("/nonexistent/mo-kcdir");
  deepStrictEqual(scan.clusters, []);
  match(scan.errors[0].error, /cannot read the directory/);
});

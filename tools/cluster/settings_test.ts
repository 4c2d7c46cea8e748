import { deepStrictEqual } from "node:assert/strict";
import type { ClusterPaths } from "./paths.ts";
import { clusterDir } from "./paths.ts";
import { staleClusters } from "./settings.ts";
import { renderKwokConfig, settingsFingerprint } from "./kwok_config.ts";

Deno.test("staleClusters: a cluster recorded with other settings is stale; current or unrecorded ones are not", async () => {
  const root = await Deno.makeTempDir();
  const paths: ClusterPaths = {
    cache: root,
    k8s: `${root}/k8s`,
    etcd: `${root}/etcd`,
    kwok: `${root}/kwok-bin`,
    bin: `${root}/bin`,
    workdir: `${root}/kwok`,
    kubeconfig: `${root}/kubeconfig.yaml`,
    lock: `${root}/lock`,
  };
  try {
    const record = async (name: string, settings?: string) => {
      const dir = clusterDir(paths, name);
      await Deno.mkdir(dir, { recursive: true });
      if (settings !== undefined) await Deno.writeTextFile(`${dir}/mysql-operator-settings`, `${settings}\n`);
    };
    const current = await settingsFingerprint(
      await renderKwokConfig(paths, { clusterDir: clusterDir(paths, "mo-test-1") }),
    );
    await record("mo-test-1", current);
    await record("mo-test-2", "0123456789abcdef"); // e.g. made before a change of the kwok stages
    await record("mo-test-3");
    deepStrictEqual(await staleClusters(paths, ["mo-test-1", "mo-test-2", "mo-test-3"]), ["mo-test-2"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { run } from "../real_node/host.ts";
import { writeLayer, writeOciArchive } from "./oci.ts";

Deno.test("writeOciArchive: an OCI layout ctr can import, with digests that match the blobs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "oci-test-" });
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/bin`, { recursive: true });
    await Deno.writeTextFile(`${src}/bin/hello`, "hi\n", { mode: 0o755 });
    const blobs = `${dir}/blobs`;
    const a = await writeLayer(src, blobs, { reproducible: true });
    const b = await writeLayer(src, blobs, { reproducible: true });
    deepStrictEqual(a, b, "a reproducible layer of the same tree has the same digests");
    await writeOciArchive(`${dir}/img.tar`, "localhost/test/img:tag1", [a], { Cmd: ["/bin/hello"] }, blobs);

    const out = `${dir}/out`;
    await Deno.mkdir(out);
    await run("tar", ["-xf", `${dir}/img.tar`, "-C", out]);
    deepStrictEqual(JSON.parse(await Deno.readTextFile(`${out}/oci-layout`)), {
      imageLayoutVersion: "1.0.0",
    });
    const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
    equal(index.manifests.length, 1);
    equal(index.manifests[0].annotations["io.containerd.image.name"], "localhost/test/img:tag1");
    const blob = (d: string) => `${out}/blobs/sha256/${d.slice("sha256:".length)}`;
    const sha = async (p: string) => `sha256:${(await run("sha256sum", [p])).stdout.split(" ")[0]}`;
    equal(await sha(blob(index.manifests[0].digest)), index.manifests[0].digest);
    const manifest = JSON.parse(await Deno.readTextFile(blob(index.manifests[0].digest)));
    equal(await sha(blob(manifest.config.digest)), manifest.config.digest);
    equal(await sha(blob(manifest.layers[0].digest)), a.digest);
    const config = JSON.parse(await Deno.readTextFile(blob(manifest.config.digest)));
    deepStrictEqual(config.rootfs.diff_ids, [a.diffId]);
    deepStrictEqual(config.config.Cmd, ["/bin/hello"]);
    const list = await run("tar", ["-tzf", blob(a.digest)]);
    ok(list.stdout.split("\n").includes("./bin/hello"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

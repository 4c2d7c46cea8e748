/**
 * The pod sandbox image of the real node: pause.c compiled with `gcc -static` as a one-layer OCI archive.
 *
 * @module
 */
import { ensurePackages, IMAGE_PACKAGES, run } from "../real_node/host.ts";
import { imagesDir, inputsHash, withLock } from "./cache.ts";
import { type ImageRuntimeConfig, type Layer, ociArch, writeLayer, writeOciArchive } from "./oci.ts";

/** An image archive in the cache. */
export interface BuiltImage {
  /** Full reference, `localhost/mysql-operator/<name>:<inputs hash>`. */
  name: string;
  /** OCI layout tar for `ctr images import`. */
  archive: string;
}

/** Repository part of the pause image's name. */
export const PAUSE_REPO = "localhost/mysql-operator/pause";

const SOURCE = new URL("./pause/pause.c", import.meta.url);
const GCC_ARGS = ["-static", "-Os", "-s"];
const CONFIG: ImageRuntimeConfig = { Entrypoint: ["/pause"], User: "65535:65535" };

/** Builds the pause image when its inputs (source, compiler flags and version, config) changed. */
export async function buildPauseImage(): Promise<BuiltImage> {
  const source = await Deno.readTextFile(SOURCE);
  await ensurePackages(IMAGE_PACKAGES);
  const gcc = (await run("gcc", ["-dumpfullversion"])).stdout.trim();
  const hash = await inputsHash({ source, gcc, args: GCC_ARGS, config: CONFIG, arch: ociArch() });
  const name = `${PAUSE_REPO}:${hash}`;
  const dir = `${imagesDir()}/pause-${hash}`;
  const archive = `${dir}/image.oci.tar`;
  return await withLock("pause", async () => {
    try {
      await Deno.stat(archive);
      return { name, archive };
    } catch { /* not built yet */ }
    const stage = await Deno.makeTempDir({ prefix: "pause-rootfs-" });
    try {
      // The stage becomes the image's "/": a 0700 temp dir would stop the non-root pause user at the root.
      await Deno.chmod(stage, 0o755);
      await run("gcc", [...GCC_ARGS, "-o", `${stage}/pause`, SOURCE.pathname]);
      const layer: Layer = await writeLayer(stage, `${imagesDir()}/blobs`, { reproducible: true });
      await Deno.mkdir(dir, { recursive: true });
      await writeOciArchive(archive, name, [layer], CONFIG, `${imagesDir()}/blobs`);
      return { name, archive };
    } finally {
      await Deno.remove(stage, { recursive: true });
    }
  });
}

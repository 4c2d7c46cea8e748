/**
 * Writes OCI image layout archives (oci-layout, index.json, blobs/sha256/...) that `ctr images import` takes
 * without any registry. Blobs are shared in one content store under the image cache, so an image whose only
 * change is its top layer reuses the big base layer file.
 *
 * @module
 */
import { run } from "../real_node/host.ts";

/** An OCI descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A gzip layer in the blob store plus the digest of its uncompressed tar (the config's diff_id). */
export interface Layer extends Descriptor {
  diffId: string;
}

/** The runtime part of an image config. */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
}

const LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/** The OCI architecture name of this machine. */
export function ociArch(): string {
  return Deno.build.arch === "aarch64" ? "arm64" : "amd64";
}

async function sha256File(path: string): Promise<string> {
  const r = await run("sha256sum", [path]);
  return r.stdout.split(" ")[0];
}

async function putBlob(blobs: string, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
  const hex = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  await Deno.mkdir(`${blobs}/sha256`, { recursive: true });
  await Deno.writeFile(`${blobs}/sha256/${hex}`, bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Packs the directory `src` into a gzip layer in `<blobs>/sha256/`. `tarArgs` are extra GNU tar options (e.g.
 * excludes). With `reproducible`, owners, times and order are normalised so equal trees give equal digests.
 */
export async function writeLayer(
  src: string,
  blobs: string,
  opts: { reproducible?: boolean; tarArgs?: string[] } = {},
): Promise<Layer> {
  await Deno.mkdir(`${blobs}/sha256`, { recursive: true });
  const tmp = await Deno.makeTempFile({ dir: blobs, prefix: ".layer-" });
  try {
    const fixed = opts.reproducible ? ["--sort=name", "--mtime=@0", "--owner=0", "--group=0"] : [];
    await run("tar", [
      "--create",
      "--file",
      `${tmp}.tar`,
      "--numeric-owner",
      ...fixed,
      ...(opts.tarArgs ?? []),
      "-C",
      src,
      ".",
    ]);
    const diffId = `sha256:${await sha256File(`${tmp}.tar`)}`;
    // -n: no name or time in the gzip header, so the compressed digest is reproducible too.
    await run("sh", ["-c", 'gzip -n -6 -c "$1" > "$2"', "sh", `${tmp}.tar`, tmp]);
    const hex = await sha256File(tmp);
    const size = (await Deno.stat(tmp)).size;
    await Deno.rename(tmp, `${blobs}/sha256/${hex}`);
    return { mediaType: LAYER_GZIP, digest: `sha256:${hex}`, size, diffId };
  } finally {
    await Deno.remove(tmp).catch(() => {});
    await Deno.remove(`${tmp}.tar`).catch(() => {});
  }
}

/**
 * Writes an OCI layout archive `out` of one image named `name` (e.g. `localhost/x/y:tag`) made of `layers`
 * (bottom first), whose blobs are in `blobs`.
 */
export async function writeOciArchive(
  out: string,
  name: string,
  layers: Layer[],
  config: ImageRuntimeConfig,
  blobs: string,
): Promise<void> {
  const enc = new TextEncoder();
  const cfg = await putBlob(
    blobs,
    enc.encode(JSON.stringify({
      architecture: ociArch(),
      os: "linux",
      config,
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    })),
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = await putBlob(
    blobs,
    enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: cfg,
      layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    })),
    "application/vnd.oci.image.manifest.v1+json",
  );
  const stage = await Deno.makeTempDir({ dir: blobs, prefix: ".archive-" });
  try {
    await Deno.mkdir(`${stage}/blobs/sha256`, { recursive: true });
    for (const d of [cfg, manifest, ...layers]) {
      const hex = d.digest.slice("sha256:".length);
      // Hard links: the archive is written by tar from the stage, so nothing big is copied twice.
      await Deno.link(`${blobs}/sha256/${hex}`, `${stage}/blobs/sha256/${hex}`);
    }
    await Deno.writeTextFile(`${stage}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await Deno.writeTextFile(
      `${stage}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{
          ...manifest,
          platform: { architecture: ociArch(), os: "linux" },
          annotations: {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.slice(name.lastIndexOf(":") + 1),
          },
        }],
      }),
    );
    await run("tar", [
      "--create",
      "--file",
      `${out}.tmp`,
      "--numeric-owner",
      "--hard-dereference",
      "-C",
      stage,
      ".",
    ]);
    await Deno.rename(`${out}.tmp`, out);
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

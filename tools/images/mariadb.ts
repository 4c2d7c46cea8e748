/**
 * The local MySQL-compatible image: a Debian rootfs made by debootstrap with MariaDB server and client, plus
 * the entry point in ./mariadb/docker-entrypoint.sh. Two layers, each cached by the hash of its inputs:
 * the base (suite, package list, clean-up list) takes ~1 min to build and changes rarely; the top layer (entry
 * point, image config) takes under a second, so editing the entry point does not re-run debootstrap.
 *
 * @module
 */
import { ensurePackages, exists, IMAGE_PACKAGES, run } from "../real_node/host.ts";
import { imagesDir, inputsHash, withLock } from "./cache.ts";
import { type ImageRuntimeConfig, type Layer, ociArch, writeLayer, writeOciArchive } from "./oci.ts";
import type { BuiltImage } from "./pause.ts";

/** Repository part of the MariaDB image's name. */
export const MARIADB_REPO = "localhost/mysql-operator/mariadb";

/** What the base layer is made of; every field is part of its cache key. */
const BASE = {
  suite: "bookworm",
  variant: "minbase",
  // rclone: the object store's backup and restore Jobs run in this image (spec.backup.objectStore).
  packages: ["mariadb-server", "mariadb-client", "rclone"],
  // Removed after installation: caches and docs (size), the datadir the package's postinst initialised (the
  // entry point must see an empty datadir), host files debootstrap copied in (the kubelet provides its own).
  remove: [
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/mysql",
    "etc/resolv.conf",
    "etc/hostname",
  ],
  recreate: ["var/cache/apt/archives/partial", "var/lib/apt/lists/partial", "var/lib/mysql"],
  // Device nodes and mount points are supplied by the runtime; the layer keeps the empty directories only.
  excludes: ["./dev/*", "./proc/*", "./sys/*", "./run/*", "./tmp/*"],
  arch: ociArch(),
};

const ENTRYPOINT = new URL("./mariadb/docker-entrypoint.sh", import.meta.url);

const CONFIG: ImageRuntimeConfig = {
  Entrypoint: ["/usr/local/bin/docker-entrypoint.sh"],
  Cmd: ["mariadbd"],
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
  ExposedPorts: { "3306/tcp": {} },
  WorkingDir: "/",
};

/**
 * The first Debian mirror in the host's apt sources (one-line and deb822 formats) that serves `suite`, so the
 * image comes from where this machine's apt is allowed to go.
 */
export async function debianMirror(suite: string): Promise<string> {
  const files = ["/etc/apt/sources.list"];
  try {
    for await (const e of Deno.readDir("/etc/apt/sources.list.d")) {
      if (e.name.endsWith(".list") || e.name.endsWith(".sources")) {
        files.push(`/etc/apt/sources.list.d/${e.name}`);
      }
    }
  } catch { /* no directory */ }
  for (const f of files.sort()) {
    let text: string;
    try {
      text = await Deno.readTextFile(f);
    } catch {
      continue;
    }
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) =>
          stanza.split("\n").find((l) => l.toLowerCase().startsWith(`${k.toLowerCase()}:`))?.slice(
            k.length + 1,
          )
            .trim().split(/\s+/) ?? [];
        if (field("Enabled")[0]?.toLowerCase() === "no") continue;
        if (field("Types").includes("deb") && field("Suites").includes(suite) && field("URIs")[0]) {
          return field("URIs")[0];
        }
      }
    } else {
      for (const line of text.split("\n")) {
        const m = line.trim().match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && m[2] === suite) return m[1];
      }
    }
  }
  return "http://deb.debian.org/debian";
}

/** Unmounts whatever is still mounted below `dir` (an interrupted debootstrap leaves proc/sys mounted). */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await Deno.readTextFile("/proc/self/mounts")).split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m], { check: false });
}

/** Kills processes whose root is inside `dir` (a package's postinst may start a daemon in the chroot). */
async function killChrootProcesses(dir: string): Promise<void> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const root = await Deno.readLink(`/proc/${e.name}/root`);
      if (root === dir || root.startsWith(`${dir}/`)) Deno.kill(Number(e.name), "SIGKILL");
    } catch { /* gone or not ours to read */ }
  }
}

async function buildBaseLayer(blobs: string): Promise<Layer> {
  const hash = await inputsHash(BASE);
  const dir = `${imagesDir()}/mariadb-base-${hash}`;
  const meta = `${dir}/layer.json`;
  if (await exists(meta)) {
    const layer = JSON.parse(await Deno.readTextFile(meta)) as Layer;
    if (await exists(`${blobs}/sha256/${layer.digest.slice(7)}`)) return layer;
  }
  await ensurePackages(IMAGE_PACKAGES);
  const mirror = await debianMirror(BASE.suite);
  // Built on the cache's file system; --one-file-system below never follows a leftover mount out of it.
  await Deno.mkdir(imagesDir(), { recursive: true });
  const work = await Deno.makeTempDir({ dir: imagesDir(), prefix: ".mariadb-rootfs-" });
  const root = `${work}/rootfs`;
  try {
    const started = Date.now();
    console.error(`images: debootstrap ${BASE.suite} (${BASE.packages.join(", ")}) from ${mirror}; ~1 min`);
    await run("debootstrap", [
      `--variant=${BASE.variant}`,
      `--include=${BASE.packages.join(",")}`,
      `--arch=${BASE.arch}`,
      BASE.suite,
      root,
      mirror,
    ]);
    await killChrootProcesses(root);
    await unmountBelow(root);
    for (const p of BASE.remove) await Deno.remove(`${root}/${p}`, { recursive: true }).catch(() => {});
    for (const p of BASE.recreate) await Deno.mkdir(`${root}/${p}`, { recursive: true });
    await run("chroot", [root, "chown", "mysql:mysql", "/var/lib/mysql"]);
    const layer = await writeLayer(root, blobs, { tarArgs: BASE.excludes.map((e) => `--exclude=${e}`) });
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${meta}.tmp`, JSON.stringify(layer));
    await Deno.rename(`${meta}.tmp`, meta);
    console.error(
      `images: base layer ${layer.digest} (${(layer.size / 2 ** 20).toFixed(0)} MiB gzip) in ${
        ((Date.now() - started) / 1000).toFixed(0)
      } s`,
    );
    return layer;
  } finally {
    await killChrootProcesses(root);
    await unmountBelow(root);
    await run("rm", ["-rf", "--one-file-system", work], { check: false });
  }
}

/** Name and archive path of the MariaDB image for the current inputs (built or not). */
export async function mariadbImageRef(): Promise<BuiltImage & { entrypoint: string }> {
  const entrypoint = await Deno.readTextFile(ENTRYPOINT);
  const hash = await inputsHash({ baseHash: await inputsHash(BASE), entrypoint, config: CONFIG });
  return {
    name: `${MARIADB_REPO}:${hash}`,
    archive: `${imagesDir()}/mariadb-${hash}/image.oci.tar`,
    entrypoint,
  };
}

/**
 * Builds the MariaDB image archive when its inputs changed and returns its name and archive path. The name's
 * tag is the hash of the inputs: a changed entry point or package list gives a new name.
 */
export async function buildMariadbImage(): Promise<BuiltImage> {
  const { name, archive, entrypoint } = await mariadbImageRef();
  const blobs = `${imagesDir()}/blobs`;
  return await withLock("mariadb", async () => {
    if (await exists(archive)) return { name, archive };
    const base = await buildBaseLayer(blobs);
    const stage = await Deno.makeTempDir({ prefix: "mariadb-top-" });
    try {
      // The stage is the top layer's "/": keep the root directory's usual mode.
      await Deno.chmod(stage, 0o755);
      await Deno.mkdir(`${stage}/usr/local/bin`, { recursive: true, mode: 0o755 });
      await Deno.writeTextFile(`${stage}/usr/local/bin/docker-entrypoint.sh`, entrypoint, { mode: 0o755 });
      await Deno.chmod(`${stage}/usr/local/bin/docker-entrypoint.sh`, 0o755);
      const top = await writeLayer(stage, blobs, { reproducible: true });
      const dir = archive.slice(0, archive.lastIndexOf("/"));
      await Deno.mkdir(dir, { recursive: true });
      await writeOciArchive(archive, name, [base, top], CONFIG, blobs);
      return { name, archive };
    } finally {
      await Deno.remove(stage, { recursive: true });
    }
  });
}

/**
 * The operator's image for local clusters, assembled without Docker or a registry: the pinned Deno
 * (node_modules/deno/deno) running the repository's main.ts with the operator's permission flags, its npm
 * dependencies (node_modules, as installed from package-lock.json) and a DENO_DIR prepared at build time, on a
 * minimal base of the glibc libraries Deno links against. The Dockerfile's image runs the compiled executable
 * instead (denort cannot be had here); entry point flags and default arguments are the same.
 *
 * Three layers, each cached by the hash of its inputs: base (glibc, deno: ~40 MiB gzip, changes with Deno),
 * dependencies (node_modules: changes with the lock file), application (sources + DENO_DIR: seconds).
 *
 * @module
 */
import { parse } from "yaml";
import { OPERATOR_ENV, OPERATOR_FLAGS } from "../../../cli/permissions.ts";
import { exists, run } from "../../real_node/host.ts";
import { containerdUp, importImage } from "../../real_node/containerd.ts";
import { imagesDir, inputsHash, sha256Hex, withLock } from "../cache.ts";
import { type ImageRuntimeConfig, type Layer, ociArch, writeLayer, writeOciArchive } from "../oci.ts";
import type { BuiltImage } from "../pause.ts";
import { ensureJemalloc, JEMALLOC } from "../../allocator.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** Repository part of the image's name. */
export const OPERATOR_REPO = "localhost/mysql-operator/operator";

/** Where the application lives in the image. */
export const APP_DIR = "/opt/mysql-operator/app";
/** DENO_DIR in the image (read-only at run time: prepared at build time). */
export const DENO_DIR = "/opt/mysql-operator/deno-dir";
/** The Deno binary in the image. */
export const DENO_BIN = "/usr/local/bin/deno";
/** The non-root user of the image (distroless's `nonroot`, like the Dockerfile). */
export const NONROOT = 65532;

/** What the image runs: the same entry point, permissions and V8 flags as tests/_operator.ts and `deno task start`. */
export const ENTRYPOINT: readonly string[] = [DENO_BIN, "run", ...OPERATOR_FLAGS, `${APP_DIR}/main.ts`];

/** Source directories and files of the application (tests and tools are not shipped). */
const APP_SOURCES = [
  "main.ts",
  "deno.json",
  "deno.lock",
  "package.json",
  "api",
  "cli",
  "reconcilers",
  "runtime",
  "templates",
];
/** npm packages that are tools of the repository, not dependencies of the operator. */
const NOT_SHIPPED_MODULES = ["deno", "@deno"];

/** The default arguments: the Deployment's `args` in deploy/deployment.yaml (one source of truth). */
export async function deploymentArgs(): Promise<string[]> {
  const dep = parse(await Deno.readTextFile(`${ROOT}deploy/deployment.yaml`));
  const args = dep?.spec?.template?.spec?.containers?.[0]?.args;
  if (!Array.isArray(args)) throw new Error("deploy/deployment.yaml has no container args");
  return args.map(String);
}

async function imageConfig(): Promise<ImageRuntimeConfig> {
  return {
    Entrypoint: [...ENTRYPOINT],
    Cmd: await deploymentArgs(),
    Env: [
      "PATH=/usr/local/bin:/usr/bin:/bin",
      `DENO_DIR=${DENO_DIR}`,
      "DENO_NO_UPDATE_CHECK=1",
      "NO_COLOR=1",
      "HOME=/home/nonroot",
      ...Object.entries(OPERATOR_ENV).map(([k, v]) => `${k}=${v}`),
    ],
    User: `${NONROOT}:${NONROOT}`,
    WorkingDir: APP_DIR,
    ExposedPorts: { "8080/tcp": {} },
  };
}

/** Shared libraries the binary needs (ldd), with the dynamic loader. */
async function sharedLibraries(bin: string): Promise<string[]> {
  const out = (await run("ldd", [bin])).stdout;
  const libs = new Set<string>();
  for (const line of out.split("\n")) {
    const m = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)\s+\(/);
    if (m) libs.add(m[1]);
  }
  if (libs.size === 0) throw new Error(`ldd ${bin} listed no libraries:\n${out}`);
  return [...libs].sort();
}

/** A layer cached under `<images>/operator-<part>-<hash>/layer.json`, built by `fill(stage)` when missing. */
async function cachedLayer(
  part: string,
  hash: string,
  blobs: string,
  fill: (stage: string) => Promise<void>,
): Promise<Layer> {
  const meta = `${imagesDir()}/operator-${part}-${hash}/layer.json`;
  if (await exists(meta)) {
    const layer = JSON.parse(await Deno.readTextFile(meta)) as Layer;
    if (await exists(`${blobs}/sha256/${layer.digest.slice(7)}`)) return layer;
  }
  const stage = await Deno.makeTempDir({ prefix: `operator-${part}-` });
  try {
    // The stage is the layer's "/": keep the root directory's usual mode.
    await Deno.chmod(stage, 0o755);
    await fill(stage);
    const layer = await writeLayer(stage, blobs, { reproducible: true });
    await Deno.mkdir(meta.slice(0, meta.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(`${meta}.tmp`, JSON.stringify(layer));
    await Deno.rename(`${meta}.tmp`, meta);
    return layer;
  } finally {
    await run("rm", ["-rf", "--one-file-system", stage], { check: false });
  }
}

async function copyInto(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
  await run("cp", ["-a", "--no-preserve=ownership", src, dest]);
}

/** Base layer: glibc and jemalloc (from this Debian host, what `ldd` names), /etc basics, /tmp, the deno binary. */
function baseLayer(blobs: string, deno: string, libs: string[], denoSha: string): Promise<Layer> {
  const inputs = { denoSha, libs, arch: ociArch(), v: 1 };
  return inputsHash(inputs).then((hash) =>
    cachedLayer("base", hash, blobs, async (stage) => {
      for (const lib of libs) {
        // Copy the file a symlink points at, under the name the loader asks for.
        await Deno.mkdir(`${stage}${lib.slice(0, lib.lastIndexOf("/"))}`, { recursive: true });
        await run("cp", ["-L", lib, `${stage}${lib}`]);
      }
      await Deno.mkdir(`${stage}/etc`, { recursive: true });
      await Deno.writeTextFile(
        `${stage}/etc/passwd`,
        `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
      );
      await Deno.writeTextFile(`${stage}/etc/group`, `root:x:0:\nnonroot:x:${NONROOT}:\n`);
      // /etc/hosts first (kubelet writes it; hostAliases land there), then DNS.
      await Deno.writeTextFile(`${stage}/etc/nsswitch.conf`, "hosts: files dns\n");
      await Deno.mkdir(`${stage}/home/nonroot`, { recursive: true, mode: 0o755 });
      await Deno.mkdir(`${stage}/tmp`, { recursive: true });
      await Deno.chmod(`${stage}/tmp`, 0o1777);
      await Deno.mkdir(`${stage}/usr/local/bin`, { recursive: true });
      await run("cp", [deno, `${stage}${DENO_BIN}`]);
      await Deno.chmod(`${stage}${DENO_BIN}`, 0o755);
      await run("chown", ["-R", `${NONROOT}:${NONROOT}`, `${stage}/home/nonroot`]);
    })
  );
}

/** Dependencies layer: node_modules as installed from the lock file, without the repository's tools. */
async function depsLayer(blobs: string): Promise<Layer> {
  const lock = await Deno.readTextFile(`${ROOT}package-lock.json`);
  const hash = await inputsHash({ lock, exclude: NOT_SHIPPED_MODULES, v: 1 });
  return cachedLayer("deps", hash, blobs, async (stage) => {
    const dest = `${stage}${APP_DIR}/node_modules`;
    await Deno.mkdir(dest, { recursive: true });
    for await (const e of Deno.readDir(`${ROOT}node_modules`)) {
      if (NOT_SHIPPED_MODULES.includes(e.name) || e.name === ".bin") continue;
      await copyInto(`${ROOT}node_modules/${e.name}`, `${dest}/${e.name}`);
    }
    await run("chmod", ["-R", "a+rX,go-w", `${stage}/opt`]);
  });
}

/** Hash of every application file (path and content). */
async function sourcesHash(): Promise<string> {
  const files =
    (await run("find", [...APP_SOURCES, "-type", "f", "-not", "-name", "*_test.ts"], { cwd: ROOT }))
      .stdout.split("\n").filter((f) => f).sort();
  const parts: string[] = [];
  for (const f of files) parts.push(`${f}:${await sha256Hex(await Deno.readFile(`${ROOT}${f}`))}`);
  return await inputsHash(parts);
}

/**
 * Application layer: the sources and a DENO_DIR prepared by loading the whole program once. Deno keys its caches
 * by absolute path, so the program is loaded at the image's paths: in a private mount namespace, a tmpfs over
 * /opt gets the stage and the dependencies bind-mounted where the image has them.
 */
async function appLayer(blobs: string, deno: string, depsHash: string): Promise<Layer> {
  const hash = await inputsHash({ sources: await sourcesHash(), deno: Deno.version.deno, depsHash, v: 1 });
  return cachedLayer("app", hash, blobs, async (stage) => {
    const app = `${stage}${APP_DIR}`, denoDir = `${stage}${DENO_DIR}`;
    await Deno.mkdir(`${app}/node_modules`, { recursive: true });
    await Deno.mkdir(denoDir, { recursive: true });
    for (const s of APP_SOURCES) await copyInto(`${ROOT}${s}`, `${app}/${s}`);
    await run("find", [app, "-name", "*_test.ts", "-delete"]);
    const script = [
      "set -e",
      "mount -t tmpfs tmpfs /opt",
      `mkdir -p ${APP_DIR} ${DENO_DIR}`,
      `mount --bind "$1" ${APP_DIR}`,
      `mount --bind "$2" ${APP_DIR}/node_modules`,
      `mount --bind "$3" ${DENO_DIR}`,
      `export DENO_DIR=${DENO_DIR} DENO_NO_UPDATE_CHECK=1 NO_COLOR=1`,
      `"$4" cache ${
        ["main.ts", "cli/run.ts", "cli/status.ts", "cli/crd.ts"].map((f) => `${APP_DIR}/${f}`).join(" ")
      }`,
      // Running it once fills the transpile and code caches the way the pod will use them.
      `"$4" run ${OPERATOR_FLAGS.join(" ")} ${APP_DIR}/main.ts run --help > /dev/null`,
    ].join("\n");
    await run("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      app,
      `${ROOT}node_modules`,
      denoDir,
      deno,
    ]);
    // The mount point of the dependencies layer: an empty directory that merges with it.
    await run("chmod", ["-R", "a+rX,go-w", `${stage}/opt`]);
  });
}

/**
 * Removes archives of earlier builds (~50 MiB each; every source change makes one) that are older than an hour,
 * so a concurrent import of a recent one is never pulled from under it. Layers stay in the blob store.
 */
async function pruneArchives(keep: string): Promise<void> {
  const cutoff = Date.now() - 3_600_000;
  for await (const e of Deno.readDir(imagesDir())) {
    const m = /^operator-([0-9a-f]{16})$/.exec(e.name);
    if (!m || m[1] === keep) continue;
    const dir = `${imagesDir()}/${e.name}`;
    const mtime = (await Deno.stat(dir).catch(() => undefined))?.mtime?.getTime() ?? Date.now();
    if (mtime < cutoff) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Builds the image archive when an input changed; returns its name (tag = hash of the layers) and path. */
export async function buildOperatorImage(): Promise<BuiltImage> {
  const deno = `${ROOT}node_modules/deno/deno`;
  if (!(await exists(deno))) throw new Error(`${deno} is missing: run \`npm ci\` first`);
  const blobs = `${imagesDir()}/blobs`;
  return await withLock("operator", async () => {
    const denoSha = (await run("sha256sum", [deno])).stdout.split(" ")[0];
    // The allocator OPERATOR_ENV preloads goes in with the libraries it needs, like the Dockerfile's image.
    if (!(await ensureJemalloc())) {
      throw new Error(`${JEMALLOC.file} is missing (Debian package ${JEMALLOC.pkg})`);
    }
    const libs = [
      ...new Set([...await sharedLibraries(deno), JEMALLOC.file, ...await sharedLibraries(JEMALLOC.file)]),
    ]
      .sort();
    const base = await baseLayer(blobs, deno, libs, denoSha);
    const deps = await depsLayer(blobs);
    const app = await appLayer(blobs, deno, deps.digest);
    const config = await imageConfig();
    const hash = await inputsHash({ layers: [base, deps, app].map((l) => l.digest), config });
    const name = `${OPERATOR_REPO}:${hash}`;
    const archive = `${imagesDir()}/operator-${hash}/image.oci.tar`;
    if (!(await exists(archive))) {
      await Deno.mkdir(archive.slice(0, archive.lastIndexOf("/")), { recursive: true });
      await writeOciArchive(archive, name, [base, deps, app], config, blobs);
      await pruneArchives(hash);
    }
    return { name, archive };
  });
}

/** Builds the image when needed and imports it into the real node's containerd (which must be running). */
export async function ensureOperatorImage(): Promise<{ image: string }> {
  const { name, archive } = await buildOperatorImage();
  if (!(await containerdUp())) throw new Error("the real node's containerd is not running");
  await importImage(name, archive);
  return { image: name };
}

if (import.meta.main) {
  const t0 = Date.now();
  const img = await buildOperatorImage();
  console.log(`${img.name}\n${img.archive}\nbuilt in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * A real S3-compatible server for the tests and the demo: Versity's versitygw (Apache-2.0) with its POSIX
 * backend, built from the Go module proxy on first use (about 75 s with an empty module cache) and cached under
 * `~/.cache/mysql-operator/versitygw-<version>/`. Its credentials go through the environment, never its command
 * line; it listens on a port picked here and, should another process take that port first, on another.
 *
 * @module
 */
import { clusterPaths } from "../cluster/paths.ts";
import { withLock } from "../cluster/lock.ts";
import { run } from "../cluster/run.ts";
import { AwsClient } from "aws4fetch";

/** The version built: what the Go module proxy serves. */
export const VERSITYGW_VERSION = "v1.8.0";
const MODULE = "github.com/versity/versitygw/cmd/versitygw";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Path of the versitygw binary, built when it is not cached. */
export async function ensureVersitygw(): Promise<string> {
  const { cache } = await clusterPaths();
  const dir = `${cache}/versitygw-${VERSITYGW_VERSION}`;
  const bin = `${dir}/versitygw`;
  if (await exists(bin)) return bin;
  await Deno.mkdir(cache, { recursive: true });
  return await withLock(`${cache}/.versitygw.lock`, async () => {
    if (await exists(bin)) return bin;
    const tmp = await Deno.makeTempDir({ dir: cache, prefix: ".versitygw-build." });
    try {
      // `go install module@version` builds with the module's own go.mod and go.sum, checked by the checksum
      // database: the same sources on every machine.
      await run("go", ["install", "-trimpath", "-ldflags", "-s -w", `${MODULE}@${VERSITYGW_VERSION}`], {
        env: { CGO_ENABLED: "0", GOBIN: tmp, GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: "local" },
        timeoutMs: 15 * 60_000,
      });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      // Renamed into place only when built: a killed build never leaves a directory that looks complete.
      await Deno.rename(tmp, dir);
      return bin;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }, { purpose: "building versitygw" });
}

/** A running object store. */
export interface ObjectStoreServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The POSIX root: each directory in it is a bucket. */
  root: string;
  /** Stops the server (the root is kept). */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function randomKey(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Starts versitygw over `root` (created when missing) with fresh random credentials, waits until it answers and
 * creates `buckets` through S3 (a directory made by hand lacks the bucket's ACL, and multipart uploads into it
 * fail). Object metadata lives in extended attributes, so `root` must be on a file system that has them (ext4,
 * xfs). `hostname` is the address to listen on (default 127.0.0.1).
 */
export async function startObjectStore(
  root: string,
  opts: { buckets?: string[]; hostname?: string } = {},
): Promise<ObjectStoreServer> {
  const bin = await ensureVersitygw();
  await Deno.mkdir(root, { recursive: true });
  const hostname = opts.hostname ?? "127.0.0.1";
  const accessKeyId = `mo${randomKey(8)}`;
  const secretAccessKey = randomKey(20);
  const region = "us-east-1";
  const errors: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const child = new Deno.Command(bin, {
      args: ["--port", `${hostname}:${port}`, "--region", region, "--quiet", "posix", root],
      env: { ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const exited = child.status.then(() => true);
    const endpoint = `http://${hostname}:${port}`;
    const aws = new AwsClient({ accessKeyId, secretAccessKey, region, service: "s3", retries: 0 });
    const up = await waitUntilServing(endpoint, aws, exited);
    if (up) {
      for (const b of opts.buckets ?? []) {
        const res = await aws.fetch(`${endpoint}/${b}`, { method: "PUT" });
        const text = await res.text();
        if (!res.ok && !text.includes("BucketAlreadyOwnedByYou")) {
          child.kill("SIGKILL"); // not left running behind the error
          await child.status;
          throw new Error(`versitygw: cannot create bucket ${b}: ${res.status} ${text.slice(0, 200)}`);
        }
      }
      return {
        endpoint,
        region,
        accessKeyId,
        secretAccessKey,
        root,
        stop: async () => {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
          await child.status;
          await stderr.catch(() => "");
        },
      };
    }
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    errors.push(`port ${port}: ${(await stderr.catch(() => "")).trim().split("\n").slice(-3).join(" / ")}`);
  }
  throw new Error(`versitygw did not start: ${errors.join("; ")}`);
}

/**
 * True once the server lists its buckets for a request signed with this start's own credentials (so another
 * process that took the port, another versitygw included, is never taken for it); false when it exited or did
 * not answer so within 30 s.
 */
async function waitUntilServing(
  endpoint: string,
  aws: AwsClient,
  exited: Promise<boolean>,
): Promise<boolean> {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = performance.now() + 30_000;
  while (!gone && performance.now() < deadline) {
    try {
      const res = await aws.fetch(`${endpoint}/`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch { /* not listening yet */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
  }
  return false;
}

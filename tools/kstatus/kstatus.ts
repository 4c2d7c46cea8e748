/**
 * The real kstatus library (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux's health checks use) as a small command
 * (main.go beside this file), built from the Go module proxy on first use and cached by the content of its
 * sources under `~/.cache/mysql-operator/kstatus-<hash>/` (a change to main.go, go.mod or go.sum builds anew).
 *
 * @module
 */
import { inputsHash } from "../images/cache.ts";
import { clusterPaths } from "../cluster/paths.ts";
import { withLock } from "../cluster/lock.ts";
import { run } from "../cluster/run.ts";

const HERE = new URL(".", import.meta.url).pathname;
const SOURCES = ["main.go", "go.mod", "go.sum"];

/** What kstatus computed for one object. */
export interface KstatusResult {
  namespace: string;
  name: string;
  /** `InProgress`, `Failed`, `Current`, `Terminating`, `NotFound` or `Unknown`. */
  status: string;
  message: string;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Path of the kstatus command, built (about 40 s with an empty Go module cache) when it is not cached. */
export async function ensureKstatus(): Promise<string> {
  const { cache } = await clusterPaths();
  const hash = await inputsHash(await Promise.all(SOURCES.map((f) => Deno.readTextFile(`${HERE}${f}`))));
  const dir = `${cache}/kstatus-${hash}`;
  const bin = `${dir}/kstatus`;
  if (await exists(bin)) return bin;
  await Deno.mkdir(cache, { recursive: true });
  return await withLock(`${cache}/.kstatus.lock`, async () => {
    if (await exists(bin)) return bin;
    const tmp = await Deno.makeTempDir({ dir: cache, prefix: ".kstatus-build." });
    try {
      await run("go", ["-C", HERE, "build", "-trimpath", "-ldflags", "-s -w", "-o", `${tmp}/kstatus`, "."], {
        env: { CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false -mod=readonly", GOTOOLCHAIN: "local" },
        timeoutMs: 10 * 60_000,
      });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      // Renamed into place only when built: a killed build never leaves a directory that looks complete.
      await Deno.rename(tmp, dir);
      return bin;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }, { purpose: "building kstatus" });
}

/** kstatus' verdict on each object of a Kubernetes List (`kubectl get … -o json`). */
export async function kstatus(list: unknown): Promise<KstatusResult[]> {
  const out = await run(await ensureKstatus(), [], { stdin: JSON.stringify(list), timeoutMs: 60_000 });
  return out.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

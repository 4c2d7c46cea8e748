/**
 * The cluster operations behind `deno task cluster` and tests/_clusters.ts: bring named kwokctl clusters up
 * (create, start or reuse), take them down, stop/start one, and report their state. Every change happens under
 * one lock file, one cluster at a time: kwokctl picks ports by probing, so two concurrent creations could pick
 * the same ones.
 *
 * @module
 */
import { ensureBinaries } from "./binaries.ts";
import { writeMergedKubeconfig } from "./kubeconfig.ts";
import { renderKwokConfig, settingsFingerprint } from "./kwok_config.ts";
import { kubectlDirect, kwokctl } from "./kwokctl.ts";
import { withLock } from "./lock.ts";
import { clusterDir, type ClusterPaths, clusterPaths, contextName } from "./paths.ts";
import { CommandError } from "./run.ts";
import { type ClusterState, clusterState, listClusterNames } from "./state.ts";

/** Annotation (and value) kwokctl puts on the fake nodes it creates; kwok-controller manages only those. */
export const FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** File beside a cluster recording the fingerprint of the settings it was created with. */
const SETTINGS_FILE = "mysql-operator-settings";

/** Progress messages go here (stderr by default). */
export type Logger = (message: string) => void;

/** Default logger: one line on stderr, prefixed. */
export const stderrLogger: Logger = (m) => console.error(`cluster: ${m}`);

/** Options of {@link upClusters}. */
export interface UpOptions {
  /** Names of the clusters (`kwokctl --name`); contexts are `kwok-<name>`. */
  names: string[];
  /** kube-controller-manager `--kube-api-qps` (benchmarks); undefined keeps the default. */
  kcmQps?: number;
  /** Fake nodes per cluster (at least this many; default 1). */
  nodes?: number;
  /** Progress messages. */
  log?: Logger;
}

/** What {@link upClusters} brought up. */
export interface UpResult {
  /** Path of the merged kubeconfig. */
  kubeconfig: string;
  /** Context per cluster, in the order of `names`. */
  contexts: string[];
  /** The cluster names. */
  names: string[];
}

/** A cluster's observable state, for `status`. */
export interface ClusterStatus extends ClusterState {
  /** Context name in the merged kubeconfig. */
  context: string;
  /** Nodes and their Ready condition (empty when the API server does not answer). */
  nodes: { name: string; ready: boolean; fake: boolean }[];
  /** The API server answered /readyz. */
  apiReady: boolean;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Throws on a name kwokctl or the contexts would choke on. */
export function checkClusterName(name: string): void {
  if (!CLUSTER_NAME.test(name)) {
    throw new Error(
      `invalid cluster name ${JSON.stringify(name)}: use lower-case letters, digits and '-' (max 40)`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls the API server's /readyz through the cluster's own kubeconfig until it answers ok. */
export async function waitApiReady(paths: ClusterPaths, name: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const out = await kubectlDirect(paths, name, ["get", "--raw", "/readyz", "--request-timeout=5s"], {
        timeoutMs: 10_000,
      });
      if (out.trim() === "ok") return;
      last = out.trim();
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(250);
  }
  throw new Error(`the API server of cluster ${name} did not become ready within ${timeoutMs} ms: ${last}`);
}

interface NodeJson {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

async function listNodes(paths: ClusterPaths, name: string): Promise<ClusterStatus["nodes"]> {
  const out = await kubectlDirect(paths, name, ["get", "nodes", "-o", "json", "--request-timeout=5s"], {
    timeoutMs: 10_000,
  });
  return (JSON.parse(out).items as NodeJson[]).map((n) => ({
    name: n.metadata.name,
    fake: n.metadata.annotations?.[FAKE_NODE_ANNOTATION] === "fake",
    ready: n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
  }));
}

/** Makes sure the cluster has at least `count` fake nodes, all Ready. */
async function ensureFakeNodes(paths: ClusterPaths, name: string, count: number): Promise<void> {
  let nodes = await listNodes(paths, name);
  if (nodes.filter((n) => n.fake).length < count) {
    await kwokctl(paths, ["scale", "node", "--replicas", String(count), "--name", name]);
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    nodes = (await listNodes(paths, name)).filter((n) => n.fake);
    if (nodes.length >= count && nodes.every((n) => n.ready)) return;
    if (Date.now() > deadline) {
      throw new Error(`cluster ${name}: fake nodes not Ready within 60 s: ${JSON.stringify(nodes)}`);
    }
    await sleep(200);
  }
}

/** Looks through a failed kwokctl run and the component logs for a port conflict. */
async function portConflict(paths: ClusterPaths, name: string, err: unknown): Promise<string | undefined> {
  const texts = [err instanceof Error ? err.message : String(err)];
  try {
    for await (const e of Deno.readDir(`${clusterDir(paths, name)}/logs`)) {
      texts.push(await Deno.readTextFile(`${clusterDir(paths, name)}/logs/${e.name}`).catch(() => ""));
    }
  } catch { /* no logs */ }
  for (const t of texts) {
    const m = t.match(/[^\n]*address already in use[^\n]*/);
    if (m) return m[0].trim().slice(0, 300);
  }
  return undefined;
}

async function deleteOne(paths: ClusterPaths, name: string): Promise<void> {
  await kwokctl(paths, ["delete", "cluster", "--name", name, "--kubeconfig="]);
}

async function createOne(paths: ClusterPaths, name: string, config: string, log: Logger): Promise<void> {
  await Deno.mkdir(paths.workdir, { recursive: true });
  const cfg = `${paths.workdir}/.config-${name}-${crypto.randomUUID()}.yaml`;
  await Deno.writeTextFile(cfg, config);
  try {
    for (let attempt = 1;; attempt++) {
      try {
        await kwokctl(paths, [
          "create",
          "cluster",
          "--name",
          name,
          "--runtime",
          "binary",
          "--config",
          cfg,
          "--kubeconfig=", // the tool writes its own merged kubeconfig
          "--wait",
          "3m",
          // A 0 s lease: kwok heartbeats node status instead, so an API-server outage does not block it for 200 s.
          "--node-lease-duration-seconds",
          "0",
        ], { timeoutMs: 5 * 60_000 });
        break;
      } catch (e) {
        const conflict = await portConflict(paths, name, e);
        await deleteOne(paths, name).catch(() => {});
        if (conflict && attempt < 2) {
          log(`cluster ${name}: a port was taken while it started (${conflict}); retrying once`);
          continue;
        }
        if (conflict) {
          throw new Error(
            `cluster ${name}: port in use: ${conflict}. Another process took a port kwokctl picked; ` +
              `free it or run \`up\` again`,
          );
        }
        throw new Error(
          `cluster ${name}: kwokctl create failed (the half-created cluster was removed): ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
    }
  } finally {
    await Deno.remove(cfg).catch(() => {});
  }
}

async function startOne(paths: ClusterPaths, name: string): Promise<void> {
  try {
    await kwokctl(paths, ["start", "cluster", "--name", name, "--wait", "2m"], { timeoutMs: 3 * 60_000 });
  } catch (e) {
    const conflict = await portConflict(paths, name, e);
    if (conflict) {
      throw new Error(
        `cluster ${name}: port in use: ${conflict}. A port of this stopped cluster was taken by another ` +
          `process; free it, or \`down\` and \`up\` the cluster (it gets new ports)`,
      );
    }
    throw e;
  }
  await waitApiReady(paths, name);
}

async function readSettings(paths: ClusterPaths, name: string): Promise<string | undefined> {
  return await Deno.readTextFile(`${clusterDir(paths, name)}/${SETTINGS_FILE}`).then((s) => s.trim()).catch(
    () => undefined,
  );
}

async function upOne(paths: ClusterPaths, name: string, opts: UpOptions, log: Logger): Promise<void> {
  const dir = clusterDir(paths, name);
  const config = await renderKwokConfig(paths, { clusterDir: dir, kcmQps: opts.kcmQps });
  const fingerprint = await settingsFingerprint(config);
  let st = await clusterState(paths, name);
  if (st.exists && !st.configured) {
    log(`cluster ${name}: half-created (no kwok.yaml/kubeconfig.yaml); deleting it and creating it again`);
    await deleteOne(paths, name);
    st = await clusterState(paths, name);
  }
  if (!st.exists) {
    const t0 = Date.now();
    log(`cluster ${name}: creating`);
    await createOne(paths, name, config, log);
    await Deno.writeTextFile(`${dir}/${SETTINGS_FILE}`, `${fingerprint}\n`);
    log(`cluster ${name}: created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    const recorded = await readSettings(paths, name);
    // No record: created by a run killed before writing it (same tool, so most likely the same settings).
    if (recorded === undefined) await Deno.writeTextFile(`${dir}/${SETTINGS_FILE}`, `${fingerprint}\n`);
    else if (recorded !== fingerprint) {
      log(
        `cluster ${name}: WARNING: it was created with other settings (e.g. --kcm-qps, or an older version of ` +
          `this tool); they apply only to new clusters: \`down\` it and \`up\` again to change them`,
      );
    }
    if (st.running) {
      log(`cluster ${name}: running; reusing it`);
    } else {
      log(`cluster ${name}: stopped; starting it`);
      await startOne(paths, name);
    }
  }
  await waitApiReady(paths, name);
  await ensureFakeNodes(paths, name, opts.nodes ?? 1);
}

/** Runs `fn` under the tool's lock, telling the user when it has to wait. */
export function withClusterLock<T>(paths: ClusterPaths, purpose: string, log: Logger, fn: () => Promise<T>) {
  return withLock(paths.lock, fn, {
    purpose,
    onWait: (h) => log(`waiting for another cluster operation${h ? ` (pid ${h.pid}: ${h.purpose})` : ""}`),
  });
}

/**
 * Brings the named clusters up, one at a time: creates missing ones, starts stopped ones, reuses running ones;
 * each gets at least one Ready fake node. Builds the binaries first when they are not cached. Rewrites the
 * merged kubeconfig.
 */
export async function upClusters(opts: UpOptions): Promise<UpResult> {
  const log = opts.log ?? stderrLogger;
  opts.names.forEach(checkClusterName);
  const paths = await ensureBinaries();
  await Deno.mkdir(paths.workdir, { recursive: true });
  return await withClusterLock(paths, `up ${opts.names.join(",")}`, log, async () => {
    for (const name of opts.names) await upOne(paths, name, opts, log);
    const kubeconfig = await writeMergedKubeconfig(paths);
    return { kubeconfig, contexts: opts.names.map(contextName), names: opts.names };
  });
}

/** Stops and deletes the named clusters (missing ones are skipped) and rewrites the merged kubeconfig. */
export async function downClusters(names: string[], log: Logger = stderrLogger): Promise<void> {
  names.forEach(checkClusterName);
  const paths = await clusterPaths();
  await withClusterLock(paths, `down ${names.join(",")}`, log, async () => {
    for (const name of names) {
      if (!(await clusterState(paths, name)).exists) {
        log(`cluster ${name}: does not exist`);
        continue;
      }
      await deleteOne(paths, name);
      log(`cluster ${name}: deleted`);
    }
    await Deno.mkdir(paths.workdir, { recursive: true });
    await writeMergedKubeconfig(paths);
  });
}

/** `kwokctl stop cluster`: kills every component (data kept); used to simulate a dead cluster. */
export async function stopCluster(name: string, log: Logger = stderrLogger): Promise<void> {
  checkClusterName(name);
  const paths = await clusterPaths();
  await withClusterLock(paths, `stop ${name}`, log, async () => {
    if (!(await clusterState(paths, name)).exists) throw new Error(`cluster ${name} does not exist`);
    await kwokctl(paths, ["stop", "cluster", "--name", name]);
  });
}

/** `kwokctl start cluster`: restarts the dead components and waits for the API server. */
export async function startCluster(name: string, log: Logger = stderrLogger): Promise<void> {
  checkClusterName(name);
  const paths = await clusterPaths();
  await withClusterLock(paths, `start ${name}`, log, async () => {
    if (!(await clusterState(paths, name)).exists) throw new Error(`cluster ${name} does not exist`);
    await startOne(paths, name);
  });
}

/** State of every cluster in the workdir (or of the named ones). */
export async function clusterStatuses(names?: string[]): Promise<ClusterStatus[]> {
  const paths = await clusterPaths();
  const out: ClusterStatus[] = [];
  for (const name of names ?? await listClusterNames(paths)) {
    const st = await clusterState(paths, name);
    let nodes: ClusterStatus["nodes"] = [];
    let apiReady = false;
    if (st.configured && st.components.some((c) => c.name === "kube-apiserver" && c.alive)) {
      try {
        apiReady = (await kubectlDirect(paths, name, ["get", "--raw", "/readyz", "--request-timeout=3s"], {
          timeoutMs: 5_000,
        })).trim() === "ok";
        nodes = await listNodes(paths, name);
      } catch (e) {
        if (!(e instanceof CommandError)) throw e;
      }
    }
    out.push({ ...st, context: contextName(name), nodes, apiReady });
  }
  return out;
}

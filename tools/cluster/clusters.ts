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
import { writeAuditPolicy } from "./audit.ts";
import { readSettings, SETTINGS_FILE } from "./settings.ts";
import { kubectlDirect, kwokctl } from "./kwokctl.ts";
import { controllersWorking } from "./probe.ts";
import { withLock } from "./lock.ts";
import { clusterDir, type ClusterPaths, clusterPaths, contextName } from "./paths.ts";
import { CommandError } from "./run.ts";
import { type ClusterState, clusterState, COMPONENTS, listClusterNames } from "./state.ts";
import {
  assignPorts,
  checkPortsFree,
  type ClusterPorts,
  listeningPorts,
  portsOf,
  readPortRecord,
  releasePorts,
} from "./ports.ts";

/** Annotation (and value) kwokctl puts on the fake nodes it creates; kwok-controller manages only those. */
export const FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node";

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
  /** The ports the tool assigned to the cluster (absent for a cluster it has no record of). */
  ports?: ClusterPorts;
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
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
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
  // A list that outlives its timeout (a just-started API server on a loaded machine) is asked again, never fatal.
  const deadline = performance.now() + 60_000;
  const fakeNodes = async () => {
    for (;;) {
      try {
        return (await listNodes(paths, name)).filter((n) => n.fake);
      } catch (e) {
        if (!(e instanceof CommandError) || performance.now() > deadline) throw e;
        await sleep(500);
      }
    }
  };
  let nodes = await fakeNodes();
  if (nodes.length < count) {
    await kwokctl(paths, ["scale", "node", "--replicas", String(count), "--name", name]);
  }
  for (;;) {
    nodes = await fakeNodes();
    if (nodes.length >= count && nodes.every((n) => n.ready)) return;
    if (performance.now() > deadline) {
      throw new Error(`cluster ${name}: fake nodes not Ready within 60 s: ${JSON.stringify(nodes)}`);
    }
    await sleep(200);
  }
}

/** A component could not bind its port (another process took it). */
export class PortInUseError extends Error {
  /** Builds the error from the offending log line. */
  constructor(cluster: string, line: string, hint: string) {
    super(`cluster ${cluster}: port in use: ${line}. ${hint}`);
    this.name = "PortInUseError";
  }
}

/** Returns the first "address already in use" line of the cluster's component logs written since `since`. */
async function portConflictInLogs(
  paths: ClusterPaths,
  name: string,
  since: number,
): Promise<string | undefined> {
  const dir = `${clusterDir(paths, name)}/logs`;
  try {
    for await (const e of Deno.readDir(dir)) {
      const st = await Deno.stat(`${dir}/${e.name}`).catch(() => undefined);
      if (!st?.mtime || st.mtime.getTime() < since - 1000) continue;
      const m = (await Deno.readTextFile(`${dir}/${e.name}`).catch(() => "")).match(
        /[^\n]*address already in use[^\n]*/,
      );
      if (m) return `${e.name.replace(/\.log$/, "")}: ${m[0].trim().slice(0, 240)}`;
    }
  } catch { /* no logs yet */ }
  return undefined;
}

/**
 * Runs a kwokctl command that starts components, watching their logs: kwokctl itself would wait minutes for a
 * component that died at once because its port was taken; this fails fast with a {@link PortInUseError}.
 */
async function kwokctlStarting(
  paths: ClusterPaths,
  name: string,
  args: string[],
  timeoutMs: number,
  hint: string,
): Promise<void> {
  const since = Date.now();
  const abort = new AbortController();
  let conflict: string | undefined;
  const watcher = setInterval(async () => {
    conflict ??= await portConflictInLogs(paths, name, since);
    if (conflict && !abort.signal.aborted) abort.abort(new PortInUseError(name, conflict, hint));
  }, 500);
  try {
    await kwokctl(paths, args, { timeoutMs, signal: abort.signal });
  } catch (e) {
    conflict ??= await portConflictInLogs(paths, name, since);
    if (conflict) throw new PortInUseError(name, conflict, hint);
    throw e;
  } finally {
    clearInterval(watcher);
  }
}

async function deleteOne(paths: ClusterPaths, name: string): Promise<void> {
  // kwokctl refuses an empty --kubeconfig here; the cluster's own file goes away with the cluster anyway.
  await kwokctl(paths, [
    "delete",
    "cluster",
    "--name",
    name,
    "--kubeconfig",
    `${clusterDir(paths, name)}/kubeconfig.yaml`,
  ]);
  await releasePorts(paths, name);
}

async function createOne(paths: ClusterPaths, name: string, opts: UpOptions, log: Logger): Promise<void> {
  await Deno.mkdir(paths.workdir, { recursive: true });
  const cfg = `${paths.workdir}/.config-${name}-${crypto.randomUUID()}.yaml`;
  const args = [
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
  ];
  await writeAuditPolicy(paths); // named in the configuration; kwokctl copies it into the cluster
  try {
    for (let attempt = 1;; attempt++) {
      // Ports of our own choosing, recorded before kwokctl runs (a port found taken is given up on retry).
      const ports = await assignPorts(paths, name, await listClusterNames(paths));
      await Deno.writeTextFile(
        cfg,
        await renderKwokConfig(paths, { clusterDir: clusterDir(paths, name), kcmQps: opts.kcmQps, ports }),
      );
      try {
        await kwokctlStarting(
          paths,
          name,
          args,
          5 * 60_000,
          "Another process took a port the tool had picked for it (they were free a moment before); " +
            "free it or run `up` again",
        );
        return;
      } catch (e) {
        await deleteOne(paths, name).catch(() => releasePorts(paths, name));
        if (e instanceof PortInUseError && attempt < 3) {
          log(`${e.message}; deleted the half-created cluster, retrying with new ports`);
          continue;
        }
        if (e instanceof PortInUseError) throw e;
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

/** Waits until the dead components' processes are gone: kwokctl counts a zombie (killed, unreaped) as running. */
async function waitZombiesReaped(paths: ClusterPaths, name: string, log: Logger): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const zombies = (await clusterState(paths, name)).components.filter((c) => {
      if (c.alive) return false;
      try {
        Deno.statSync(`/proc/${c.pid}`);
        return true;
      } catch {
        return false;
      }
    });
    if (zombies.length === 0) return;
    if (performance.now() > deadline) {
      log(
        `cluster ${name}: ${
          zombies.map((z) => z.name).join(", ")
        } still unreaped after 30 s; starting anyway`,
      );
      return;
    }
    await sleep(200);
  }
}

/**
 * Starts a stopped cluster's dead components until every one stays up and kube-controller-manager demonstrably
 * works (call only while holding the lock).
 */
export async function startStoppedCluster(paths: ClusterPaths, name: string, log: Logger): Promise<void> {
  // kube-controller-manager and kube-scheduler give up (exit) when the API server is not healthy within ~25 s,
  // which happens on a loaded machine: start again until every component stays up.
  for (let attempt = 1;; attempt++) {
    await waitZombiesReaped(paths, name, log);
    const alive = (await clusterState(paths, name)).components.filter((c) => c.alive).map((c) => c.name);
    await checkPortsFree(paths, name, COMPONENTS.filter((c) => !alive.includes(c)));
    await kwokctlStarting(
      paths,
      name,
      ["start", "cluster", "--name", name, "--wait", "2m"],
      3 * 60_000,
      "A port of this stopped cluster was taken meanwhile by another process; free it, or `down` and `up` the " +
        "cluster (it gets new ports)",
    );
    await waitApiReady(paths, name);
    const working = await controllersWorking(paths, name);
    const dead = (await clusterState(paths, name)).components.filter((c) => !c.alive).map((c) => c.name);
    if (working && dead.length === 0) return;
    const what = dead.length ? `${dead.join(", ")} exited` : "kube-controller-manager runs no controllers";
    if (attempt >= 4) {
      throw new Error(`cluster ${name}: ${what} after every start; see ${clusterDir(paths, name)}/logs`);
    }
    log(`cluster ${name}: ${what} after the start; starting again`);
  }
}

async function upOne(paths: ClusterPaths, name: string, opts: UpOptions, log: Logger): Promise<void> {
  const dir = clusterDir(paths, name);
  // The settings without the ports, which differ per cluster by design.
  const fingerprint = await settingsFingerprint(
    await renderKwokConfig(paths, { clusterDir: dir, kcmQps: opts.kcmQps }),
  );
  let st = await clusterState(paths, name);
  if (st.exists && !st.configured) {
    log(`cluster ${name}: half-created (no kwok.yaml/kubeconfig.yaml); deleting it and creating it again`);
    await deleteOne(paths, name);
    st = await clusterState(paths, name);
  }
  if (!st.exists) {
    const t0 = Date.now();
    log(`cluster ${name}: creating`);
    await createOne(paths, name, opts, log);
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
      await startStoppedCluster(paths, name, log);
    }
  }
  await waitApiReady(paths, name);
  await ensureFakeNodes(paths, name, opts.nodes ?? 1);
}

/** Removes config files left by a run that was killed mid-create (call only while holding the lock). */
async function removeStaleConfigs(paths: ClusterPaths): Promise<void> {
  for await (const e of Deno.readDir(paths.workdir)) {
    if (e.isFile && e.name.startsWith(".config-")) {
      await Deno.remove(`${paths.workdir}/${e.name}`).catch(() => {});
    }
  }
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
    await removeStaleConfigs(paths);
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
    // kwokctl returns once it has signalled the components, not once they are gone: a start right after found
    // the API server's port still listened on ("port ... is held by another process", and the chaos run's
    // cluster left stopped). Stopped means none of the cluster's ports is listened on any more.
    const ports = (await readPortRecord(paths))[name];
    if (!ports) return;
    const mine = portsOf(ports);
    const held = () => {
      const listening = listeningPorts();
      return listening ? mine.filter((p) => listening.has(p)) : [];
    };
    const deadline = performance.now() + 60_000;
    while (held().length > 0) {
      if (performance.now() > deadline) {
        throw new Error(`cluster ${name}: ports ${held().join(", ")} still listened on 60 s after the stop`);
      }
      await sleep(100);
    }
  });
}

/** `kwokctl start cluster`: restarts the dead components and waits for the API server. */
export async function startCluster(name: string, log: Logger = stderrLogger): Promise<void> {
  checkClusterName(name);
  const paths = await clusterPaths();
  await withClusterLock(paths, `start ${name}`, log, async () => {
    if (!(await clusterState(paths, name)).exists) throw new Error(`cluster ${name} does not exist`);
    await startStoppedCluster(paths, name, log);
  });
}

/** State of every cluster in the workdir (or of the named ones). */
export async function clusterStatuses(names?: string[]): Promise<ClusterStatus[]> {
  const paths = await clusterPaths();
  const out: ClusterStatus[] = [];
  const ports = await readPortRecord(paths);
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
    out.push({ ...st, context: contextName(name), nodes, apiReady, ports: ports[name] });
  }
  return out;
}

/**
 * Real-node mode: one real kubelet (containerd + runc, CNI bridge, kube-proxy in iptables mode) joined to a local
 * kwokctl cluster, beside kwok's fake nodes, so MariaDB pods really run. Used by `deno task cluster up
 * --real-node` (tools/cluster). Processes are detached with pid and log files under `stateDir`, so they outlive
 * the command that started them; `realNodeDown` removes everything `realNodeUp` added to the host.
 *
 * @module
 */
import { buildMariadbImage, mariadbImageRef } from "../images/mariadb.ts";
import { buildPauseImage } from "../images/pause.ts";
import {
  bridgeExists,
  checkPodCidrFree,
  cniConflist,
  ensureBridge,
  removeBridge,
  removeCniIptables,
  removePodNetns,
} from "./cni.ts";
import {
  containerdConfig,
  containerdDaemon,
  containerdUp,
  ensureContainerd,
  importImage,
  removeAllContainers,
  stopContainerd,
  unmountNodeMounts,
} from "./containerd.ts";
import { ensurePackages, exists, REAL_NODE_PACKAGES, run } from "./host.ts";
import { kubeletArgs, kubeletConfig, kubeProxyConfig } from "./kubelet.ts";
import {
  CNI_DATA_DIR,
  CONTAINERD_ROOT,
  CONTAINERD_STATE,
  K8S_NAMESPACE,
  KUBE_PROXY_HEALTHZ_PORT,
  KUBELET_ROOT,
  NODE_NAME,
  nodeFiles,
  OWNER_FILE,
} from "./paths.ts";
import { apiServerUrl, ensureClientCert, kubeconfigFor } from "./pki.ts";
import { type Daemon, daemonPid, logTail, startDaemon, stopDaemon } from "./process.ts";

export { NODE_NAME, REAL_NODE_LABEL } from "./paths.ts";

/** Where the real node joins and keeps its files. */
export interface RealNodeOptions {
  /** kwokctl cluster name. */
  clusterName: string;
  /** `<KWOK_WORKDIR>/clusters/<name>`: has pki/ca.crt, pki/ca.key, pki/admin.{crt,key}, kubeconfig.yaml. */
  clusterDir: string;
  /** Kubeconfig file with a context for the cluster (admin rights). */
  kubeconfig: string;
  /** Context of `kubeconfig` to use. */
  context: string;
  /** Directory with kubelet, kube-proxy and kubectl of the cluster's Kubernetes version. */
  k8sBinDir: string;
  /** Directory for the node's configs, certificates, logs and pid files. */
  stateDir: string;
}

/** What `realNodeUp` remembers for `realNodeDown` (and the owner file). */
interface NodeRecord {
  clusterName: string;
  stateDir: string;
  /** net.ipv4.ip_forward before the first `up`, restored by `down`. */
  ipForwardBefore: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function daemons(o: RealNodeOptions) {
  const f = nodeFiles(o.stateDir);
  const d = (name: string, bin: string): Daemon => ({
    name,
    bin,
    pidFile: f.pid(name),
    logFile: f.log(name),
  });
  return {
    containerd: containerdDaemon(o.stateDir),
    kubelet: d("kubelet", `${o.k8sBinDir}/kubelet`),
    kubeProxy: d("kube-proxy", `${o.k8sBinDir}/kube-proxy`),
  };
}

function kubectl(o: RealNodeOptions, args: string[], check = true) {
  return run(`${o.k8sBinDir}/kubectl`, [
    `--kubeconfig=${o.kubeconfig}`,
    `--context=${o.context}`,
    "--request-timeout=10s",
    ...args,
  ], { check });
}

/** Writes `text` to `path` unless it already has it; returns whether it changed. */
async function writeIfChanged(path: string, text: string, mode = 0o644): Promise<boolean> {
  try {
    if ((await Deno.readTextFile(path)) === text) return false;
  } catch { /* new file */ }
  await Deno.writeTextFile(`${path}.tmp`, text, { mode });
  await Deno.rename(`${path}.tmp`, path);
  return true;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

/** The host's address on its default route: the node's InternalIP (the API server reaches the kubelet there). */
async function primaryIp(): Promise<string> {
  const r = await run("ip", ["-4", "-o", "route", "get", "1.1.1.1"], { check: false });
  const m = r.stdout.match(/\bsrc (\d+\.\d+\.\d+\.\d+)/);
  if (!m) {
    throw new Error(`cannot find the host's primary IPv4 address (ip route get: ${r.stdout || r.stderr})`);
  }
  return m[1];
}

/** Why this machine cannot make cgroups for the kubelet, or undefined when it can (a cgroup made and removed). */
export async function cgroupProbe(): Promise<string | undefined> {
  const v2 = await exists("/sys/fs/cgroup/cgroup.controllers");
  const parent = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  if (!(await exists(parent))) return `no cgroup hierarchy at ${parent}`;
  // Unique per call, not per process: test files run as workers of one process and may probe at the same moment
  // (one of them then saw EEXIST and skipped its tests).
  const probe = `${parent}/mysql-operator-probe-${Deno.pid}-${crypto.randomUUID()}`;
  try {
    await Deno.mkdir(probe);
    await Deno.remove(probe);
    return undefined;
  } catch (e) {
    return `cannot create a cgroup under ${parent} (${e instanceof Error ? e.message : e}): ` +
      "the kubelet needs write access to the cgroup file system";
  }
}

/**
 * Whether this machine can run the real node; installs the missing Debian packages on the way (as `up` would).
 * The reason is meant for a test's skip message.
 */
export async function realNodeSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `real node needs Linux (this is ${Deno.build.os})` };
  }
  if (Deno.uid() !== 0) return { ok: false, reason: "real node needs root (containerd, kubelet, iptables)" };
  const cg = await cgroupProbe();
  if (cg) return { ok: false, reason: cg };
  const fs = await Deno.readTextFile("/proc/filesystems");
  if (!/\toverlay\n/.test(fs)) {
    return { ok: false, reason: "the kernel has no overlay file system (containerd)" };
  }
  try {
    await ensurePackages(REAL_NODE_PACKAGES);
  } catch (e) {
    return {
      ok: false,
      reason: `cannot install the real node's packages: ${e instanceof Error ? e.message : e}`,
    };
  }
  const ipt = await run("iptables", ["-t", "nat", "-S", "POSTROUTING"], { check: false });
  if (ipt.code !== 0) return { ok: false, reason: `iptables does not work here: ${ipt.stderr.trim()}` };
  return { ok: true };
}

async function nodeReady(o: RealNodeOptions): Promise<string | undefined> {
  const r = await kubectl(o, [
    "get",
    "node",
    NODE_NAME,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ], false);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function ensureDaemon(d: Daemon, args: string[], restart: boolean): Promise<void> {
  if ((await daemonPid(d)) !== undefined) {
    if (!restart) return;
    await stopDaemon(d);
  }
  await startDaemon(d, args);
}

/** Builds the image when needed and imports it into the real node's containerd when that runs. */
export async function ensureMariadbImage(): Promise<{ image: string }> {
  const { name, archive } = await buildMariadbImage();
  if (await containerdUp()) await importImage(name, archive);
  return { image: name };
}

/**
 * Starts (or keeps) the real node joined to `o.clusterName` and waits until it is Ready and kube-proxy is
 * healthy. Idempotent: running components whose configuration did not change are left alone.
 */
export async function realNodeUp(o: RealNodeOptions): Promise<{ nodeName: string }> {
  const support = await realNodeSupport();
  if (!support.ok) throw new Error(`real node not supported here: ${support.reason}`);
  const owner = await readJson<NodeRecord>(OWNER_FILE);
  if (owner && (owner.clusterName !== o.clusterName || owner.stateDir !== o.stateDir)) {
    const other = { ...o, stateDir: owner.stateDir };
    if ((await daemonPid(daemons(other).kubelet)) !== undefined || (await containerdUp())) {
      throw new Error(
        `the real node of this machine belongs to cluster ${owner.clusterName} (state ${owner.stateDir}); ` +
          "bring that one down first (one real node per machine)",
      );
    }
  }
  for (const b of ["kubelet", "kube-proxy", "kubectl"]) {
    if (!(await exists(`${o.k8sBinDir}/${b}`))) {
      throw new Error(`${o.k8sBinDir}/${b} is missing (cluster build)`);
    }
  }
  const f = nodeFiles(o.stateDir);
  const ds = daemons(o);
  await Deno.mkdir(f.cniConfDir, { recursive: true });
  const record: NodeRecord = (await readJson<NodeRecord>(f.record)) ?? {
    clusterName: o.clusterName,
    stateDir: o.stateDir,
    ipForwardBefore: (await Deno.readTextFile("/proc/sys/net/ipv4/ip_forward")).trim(),
  };
  await writeIfChanged(f.record, JSON.stringify(record) + "\n");
  await Deno.mkdir(OWNER_FILE.slice(0, OWNER_FILE.lastIndexOf("/")), { recursive: true });
  await writeIfChanged(
    OWNER_FILE,
    JSON.stringify({ clusterName: o.clusterName, stateDir: o.stateDir }) + "\n",
  );
  await run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  if (!(await bridgeExists())) await checkPodCidrFree();
  await ensureBridge();

  // containerd with the local pause image as sandbox image.
  const pause = await buildPauseImage();
  await writeIfChanged(`${f.cniConfDir}/10-mysql-operator.conflist`, cniConflist());
  const cdChanged = await writeIfChanged(
    f.containerdConfig,
    containerdConfig({ sandboxImage: pause.name, cniConfDir: f.cniConfDir }),
  );
  await ensureContainerd(o.stateDir, f.containerdConfig, cdChanged);
  await importImage(pause.name, pause.archive);
  // The MariaDB image is imported too when it is built already (a new containerd state after `down`).
  const mariadb = await mariadbImageRef();
  if (await exists(mariadb.archive)) await importImage(mariadb.name, mariadb.archive);

  // Credentials and configs of the kubelet and kube-proxy.
  const server = await apiServerUrl(o.kubeconfig, o.context);
  const caCrt = `${o.clusterDir}/pki/ca.crt`;
  const nodeCert = await ensureClientCert(f.pkiDir, o.clusterDir, {
    file: "kubelet",
    commonName: `system:node:${NODE_NAME}`,
    organization: "system:nodes",
  });
  const proxyCert = await ensureClientCert(f.pkiDir, o.clusterDir, {
    file: "kube-proxy",
    commonName: "system:kube-proxy",
  });
  // Every file is written (no short-circuit); any change restarts the component that reads it.
  const kubeletFiles = [
    await writeIfChanged(
      f.kubeletKubeconfig,
      kubeconfigFor(
        server,
        caCrt,
        `${f.pkiDir}/kubelet.crt`,
        `${f.pkiDir}/kubelet.key`,
        `system:node:${NODE_NAME}`,
      ),
      0o600,
    ),
    await writeIfChanged(f.kubeletConfig, kubeletConfig({ clientCaFile: caCrt })),
  ];
  const proxyFiles = [
    await writeIfChanged(
      f.kubeProxyKubeconfig,
      kubeconfigFor(
        server,
        caCrt,
        `${f.pkiDir}/kube-proxy.crt`,
        `${f.pkiDir}/kube-proxy.key`,
        "system:kube-proxy",
      ),
      0o600,
    ),
    await writeIfChanged(f.kubeProxyConfig, kubeProxyConfig({ kubeconfig: f.kubeProxyKubeconfig })),
  ];
  const nodeIp = await primaryIp();
  const kubeletArgv = kubeletArgs({ config: f.kubeletConfig, kubeconfig: f.kubeletKubeconfig, nodeIp });
  // The command line is compared too (the host's address may change between two `up`s).
  kubeletFiles.push(await writeIfChanged(f.kubeletArgs, kubeletArgv.join("\n") + "\n"));
  // A restarted containerd loses nothing the kubelet needs, but the kubelet's runtime connection is re-made.
  const kubeletChanged = kubeletFiles.includes(true) || nodeCert || cdChanged;
  const proxyChanged = proxyFiles.includes(true) || proxyCert;

  await Deno.mkdir(KUBELET_ROOT, { recursive: true });
  await ensureDaemon(ds.kubelet, kubeletArgv, kubeletChanged);
  await ensureDaemon(ds.kubeProxy, [`--config=${f.kubeProxyConfig}`], proxyChanged);

  const deadline = performance.now() + 120_000;
  while ((await nodeReady(o)) !== "True") {
    for (const d of [ds.containerd, ds.kubelet, ds.kubeProxy]) {
      if ((await daemonPid(d)) === undefined) {
        throw new Error(`${d.name} exited: see ${d.logFile}\n${await logTail(d.logFile)}`);
      }
    }
    if (performance.now() > deadline) {
      throw new Error(
        `node ${NODE_NAME} not Ready after 120 s: see ${ds.kubelet.logFile}\n` +
          (await logTail(ds.kubelet.logFile)),
      );
    }
    await sleep(250);
  }
  while (!(await kubeProxyHealthy())) {
    if ((await daemonPid(ds.kubeProxy)) === undefined || performance.now() > deadline) {
      throw new Error(
        `kube-proxy not healthy: see ${ds.kubeProxy.logFile}\n${await logTail(ds.kubeProxy.logFile)}`,
      );
    }
    await sleep(250);
  }
  return { nodeName: NODE_NAME };
}

async function kubeProxyHealthy(): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}/healthz`, {
      signal: AbortSignal.timeout(2000),
    });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

/** The cluster the machine's real node belongs to, or undefined when none is set up. */
export async function realNodeOwner(): Promise<string | undefined> {
  return (await readJson<NodeRecord>(OWNER_FILE))?.clusterName;
}

/** The state of the real node: its processes and the Node's Ready condition. */
export async function realNodeStatus(
  o: RealNodeOptions,
): Promise<{ running: boolean; nodeName: string; detail: string }> {
  const ds = daemons(o);
  const parts: string[] = [];
  let allUp = true;
  for (const d of [ds.containerd, ds.kubelet, ds.kubeProxy]) {
    const pid = await daemonPid(d);
    if (pid === undefined) allUp = false;
    parts.push(`${d.name} ${pid === undefined ? "stopped" : `pid ${pid}`}`);
  }
  const ready = await nodeReady(o);
  parts.push(`node ${NODE_NAME} ${ready === undefined ? "not registered" : `Ready=${ready}`}`);
  if (ready !== undefined) {
    const pods = await kubectl(o, [
      "get",
      "pods",
      "-A",
      `--field-selector=spec.nodeName=${NODE_NAME}`,
      "-o",
      "name",
    ], false);
    if (pods.code === 0) parts.push(`${pods.stdout.split("\n").filter((l) => l.trim()).length} pods`);
  }
  return { running: allUp && ready === "True", nodeName: NODE_NAME, detail: parts.join(", ") };
}

/** Removes what is left below `dir`, never crossing into another file system (a leftover mount). */
async function removeTree(dir: string): Promise<void> {
  if (await exists(dir)) await run("rm", ["-rf", "--one-file-system", dir], { check: false });
}

/** Removes the node's cgroups (the kubelet's `kubepods`, containerd's `k8s.io`) in every hierarchy, deepest first. */
async function removePodCgroups(): Promise<void> {
  const roots: string[] = [];
  if (await exists("/sys/fs/cgroup/cgroup.controllers")) {
    roots.push("/sys/fs/cgroup/kubepods", `/sys/fs/cgroup/${K8S_NAMESPACE}`);
  } else {
    // kubepods: the kubelet's pods (cgroupfs driver); k8s.io: containers made through ctr in that namespace.
    for await (const e of Deno.readDir("/sys/fs/cgroup")) {
      roots.push(`/sys/fs/cgroup/${e.name}/kubepods`, `/sys/fs/cgroup/${e.name}/${K8S_NAMESPACE}`);
    }
  }
  for (const root of roots) {
    if (!(await exists(root))) continue;
    const dirs = (await run("find", [root, "-depth", "-type", "d"], { check: false })).stdout.split("\n")
      .filter((d) => d !== "");
    for (const d of dirs) await Deno.remove(d).catch(() => {});
  }
}

const BUILTIN_CHAINS = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/**
 * Removes every KUBE-* chain and the jumps to them, IPv4 and IPv6. `kube-proxy --cleanup` leaves some (the
 * KUBE-FIREWALL chain and its INPUT/OUTPUT jumps, the kubelet's KUBE-KUBELET-CANARY/KUBE-IPTABLES-HINT); only
 * the real node's kubelet and kube-proxy make KUBE-* chains on these machines.
 */
async function removeKubeChains(): Promise<void> {
  for (const cmd of ["iptables", "ip6tables"]) {
    for (const table of ["raw", "mangle", "nat", "filter"]) {
      const rules = await run(cmd, ["-t", table, "-S"], { check: false });
      if (rules.code !== 0) continue;
      const chains = rules.stdout.split("\n").map((l) => l.match(/^-N (KUBE-\S+)/)?.[1]).filter((c) => c);
      if (chains.length === 0) continue;
      for (const chain of BUILTIN_CHAINS) {
        const list = await run(cmd, ["-t", table, "-L", chain, "-n", "--line-numbers"], { check: false });
        const nums = list.stdout.split("\n").map((l) => l.match(/^(\d+)\s+(KUBE-\S+)/))
          .filter((m): m is RegExpMatchArray => m !== null).map((m) => Number(m[1])).sort((a, b) => b - a);
        for (const n of nums) await run(cmd, ["-t", table, "-D", chain, String(n)], { check: false });
      }
      for (const c of chains) await run(cmd, ["-t", table, "-F", c!], { check: false });
      for (const c of chains) await run(cmd, ["-t", table, "-X", c!], { check: false });
    }
  }
}

/**
 * Takes the real node down and removes what `up` added to the host: its pods (through the API when the cluster
 * still answers, then forcibly), the kubelet, kube-proxy and its iptables rules, containerd and its state, the
 * bridge and the CNI rules, cgroups, and the Node object. Safe to run when nothing is up; a no-op when the
 * machine's real node belongs to another cluster (or another stateDir).
 */
export async function realNodeDown(o: RealNodeOptions): Promise<void> {
  const owner = await readJson<NodeRecord>(OWNER_FILE);
  if (owner && (owner.clusterName !== o.clusterName || owner.stateDir !== o.stateDir)) {
    // The machine's real node belongs to another cluster: its host-wide state is not ours to remove.
    return;
  }
  const f = nodeFiles(o.stateDir);
  const ds = daemons(o);
  const record = await readJson<NodeRecord>(f.record);
  const haveKubectl = await exists(`${o.k8sBinDir}/kubectl`);
  const apiUp = haveKubectl && (await nodeReady(o)) !== undefined;

  if (apiUp && (await daemonPid(ds.kubelet)) !== undefined) {
    // Let the kubelet stop its pods (CNI DEL, volume unmounts) while it still runs.
    await kubectl(o, ["cordon", NODE_NAME], false);
    await kubectl(o, [
      "delete",
      "pods",
      "-A",
      `--field-selector=spec.nodeName=${NODE_NAME}`,
      "--grace-period=10",
      "--wait=false",
    ], false);
    const deadline = performance.now() + 45_000;
    while (performance.now() < deadline) {
      const r = await kubectl(o, [
        "get",
        "pods",
        "-A",
        `--field-selector=spec.nodeName=${NODE_NAME}`,
        "-o",
        "name",
      ], false);
      if (r.code !== 0 || r.stdout.trim() === "") break;
      await sleep(250);
    }
  }
  await stopDaemon(ds.kubelet);
  if (await stopDaemon(ds.kubeProxy) || record) {
    // Removes kube-proxy's KUBE-* chains and rules (all proxy modes).
    if (await exists(ds.kubeProxy.bin)) await run(ds.kubeProxy.bin, ["--cleanup"], { check: false });
  }
  await removeAllContainers();
  await stopContainerd(o.stateDir);
  await removePodNetns();
  await removeCniIptables();
  await removeBridge();
  await Deno.remove("/run/netns").catch(() => {}); // made by containerd for pod sandboxes; only when empty
  await removeKubeChains();
  await unmountNodeMounts();
  for (const dir of [CONTAINERD_STATE, CONTAINERD_ROOT, KUBELET_ROOT, CNI_DATA_DIR]) await removeTree(dir);
  for (const dir of ["/var/lib/mysql-operator", "/run/mysql-operator"]) {
    await Deno.remove(dir).catch(() => {});
  }
  await removePodCgroups();
  if (record?.ipForwardBefore === "0") {
    await run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=0"], { check: false });
  }
  if (apiUp) await kubectl(o, ["delete", "node", NODE_NAME, "--ignore-not-found"], false);

  for (
    const p of [
      f.containerdConfig,
      f.kubeletConfig,
      f.kubeletKubeconfig,
      f.kubeletArgs,
      f.kubeProxyConfig,
      f.kubeProxyKubeconfig,
    ]
  ) {
    await Deno.remove(p).catch(() => {});
  }
  for (const d of [ds.containerd, ds.kubelet, ds.kubeProxy]) {
    await Deno.remove(d.pidFile).catch(() => {});
    await Deno.remove(d.logFile).catch(() => {});
  }
  await removeTree(f.pkiDir);
  await removeTree(f.cniConfDir);
  await Deno.remove(f.record).catch(() => {});
  await Deno.remove(o.stateDir).catch(() => {}); // only when empty: the directory may hold other things
  await Deno.remove(OWNER_FILE).catch(() => {});
  await Deno.remove("/run/mysql-operator").catch(() => {});
}

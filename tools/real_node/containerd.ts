/**
 * The real node's containerd: its config, start and stop, and `ctr` helpers (image import, forced clean-up).
 *
 * @module
 */
import { withLock } from "../images/cache.ts";
import { exists, run, type RunResult } from "./host.ts";
import { type Daemon, daemonPid, logTail, signalAndWait, startDaemon, stopDaemon } from "./process.ts";
import {
  CNI_BIN_DIR,
  CONTAINERD_ROOT,
  CONTAINERD_SOCKET,
  CONTAINERD_STATE,
  K8S_NAMESPACE,
  KUBELET_ROOT,
} from "./paths.ts";

/** Path of the containerd binary (Debian package). */
export const CONTAINERD_BIN = "/usr/bin/containerd";

/** The containerd daemon of a node whose files are under `stateDir`. */
export function containerdDaemon(stateDir: string): Daemon {
  return {
    name: "containerd",
    bin: CONTAINERD_BIN,
    pidFile: `${stateDir}/containerd.pid`,
    logFile: `${stateDir}/containerd.log`,
  };
}

/**
 * containerd config for the CRI plugin on this kind of machine (see the facts file): cgroupfs (no systemd),
 * the local pause image, no hugetlb controller, and `restrict_oom_score_adj` because the VM lacks
 * CAP_SYS_RESOURCE (without it every sandbox fails with "can't get final child's PID from pipe: EOF").
 */
export function containerdConfig(opts: { sandboxImage: string; cniConfDir: string }): string {
  const q = JSON.stringify;
  return `# Written by tools/real_node; containerd of the mysql-operator real node.
version = 2
root = ${q(CONTAINERD_ROOT)}
state = ${q(CONTAINERD_STATE)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = ${q(CONTAINERD_SOCKET)}

[ttrpc]
  address = ${q(`${CONTAINERD_SOCKET}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(`${CONTAINERD_ROOT}/opt`)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(opts.sandboxImage)}
  disable_hugetlb_controller = true
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(opts.cniConfDir)}
    max_conf_num = 1
`;
}

/** Runs `ctr` against the real node's containerd. */
export function ctr(args: string[], check = true): Promise<RunResult> {
  return run("ctr", ["--address", CONTAINERD_SOCKET, ...args], { check });
}

/** True when containerd answers on its socket. */
export async function containerdUp(): Promise<boolean> {
  if (!(await exists(CONTAINERD_SOCKET))) return false;
  return (await run("ctr", ["--address", CONTAINERD_SOCKET, "--timeout", "2s", "version"], { check: false }))
    .code === 0;
}

/** Starts containerd unless it runs; with `restart`, a running one is restarted (its config changed). */
export async function ensureContainerd(
  stateDir: string,
  configPath: string,
  restart: boolean,
): Promise<void> {
  const d = containerdDaemon(stateDir);
  if ((await daemonPid(d)) !== undefined) {
    if (!restart && (await containerdUp())) return;
    await stopDaemon(d);
  }
  await Deno.mkdir(CONTAINERD_STATE, { recursive: true });
  await Deno.mkdir(CONTAINERD_ROOT, { recursive: true });
  await startDaemon(d, ["--config", configPath]);
  const deadline = performance.now() + 30_000;
  while (!(await containerdUp())) {
    if ((await daemonPid(d)) === undefined || performance.now() > deadline) {
      throw new Error(`containerd did not come up: see ${d.logFile}\n${await logTail(d.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Names of the images in the k8s.io namespace. */
export async function imageNames(): Promise<Set<string>> {
  const r = await ctr(["-n", K8S_NAMESPACE, "images", "ls", "-q"]);
  return new Set(r.stdout.split("\n").map((s) => s.trim()).filter((s) => s !== ""));
}

/** Imports an OCI archive into the k8s.io namespace (unpacked for the CRI snapshotter) unless `name` is there. */
export async function importImage(name: string, archive: string): Promise<boolean> {
  if ((await imageNames()).has(name)) return false;
  // Serialised across processes: parallel tests importing one image would race on its creation.
  return await withLock("import", async () => {
    if ((await imageNames()).has(name)) return false;
    await ctr(["-n", K8S_NAMESPACE, "images", "import", archive]);
    if (!(await imageNames()).has(name)) {
      throw new Error(`ctr imported ${archive} but no image named ${name} appeared (index.json annotation?)`);
    }
    return true;
  });
}

/**
 * Removes every task and container in the k8s.io namespace (what the kubelet did not stop), while containerd
 * still runs. Pod networks are torn down separately (see cni.ts): ctr does not call CNI.
 */
export async function removeAllContainers(): Promise<void> {
  if (!(await containerdUp())) return;
  const ns = ["-n", K8S_NAMESPACE];
  const tasks = (await ctr([...ns, "tasks", "ls", "-q"], false)).stdout.split("\n").filter((s) => s.trim());
  for (const t of tasks) await ctr([...ns, "tasks", "kill", "-a", "-s", "SIGKILL", t.trim()], false);
  for (const t of tasks) {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const r = await ctr([...ns, "tasks", "rm", "-f", t.trim()], false);
      if (r.code === 0 || /not found/.test(r.stderr)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const containers = (await ctr([...ns, "containers", "ls", "-q"], false)).stdout.split("\n")
    .filter((s) => s.trim());
  for (const c of containers) await ctr([...ns, "containers", "rm", c.trim()], false);
}

/** Stops containerd, then any shim it left (shims outlive containerd by design). */
export async function stopContainerd(stateDir: string): Promise<void> {
  await stopDaemon(containerdDaemon(stateDir));
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).split("\0");
      // Our shims carry our socket in `-address`; any other containerd's shims are not ours to touch.
      if (argv[0].includes("containerd-shim") && argv.includes(CONTAINERD_SOCKET)) {
        await signalAndWait(Number(e.name), 5000);
      }
    } catch { /* gone */ }
  }
}

/** Unmounts everything below the node's runtime directories (rootfs overlays, shm, secret tmpfs). */
export async function unmountNodeMounts(): Promise<void> {
  const roots = [CONTAINERD_STATE, CONTAINERD_ROOT, KUBELET_ROOT];
  const mounts = (await Deno.readTextFile("/proc/self/mounts")).split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => m !== undefined && roots.some((r) => m === r || m.startsWith(`${r}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m], { check: false });
}

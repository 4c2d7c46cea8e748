/**
 * Fixed machine-wide locations and settings of the real node. There is at most one real node per machine:
 * containerd's socket, the CNI bridge, kube-proxy's iptables rules and the kubelet's ports are host-wide, so they
 * are constants here (and `ensureMariadbImage()` can find containerd without options). Per-node files (configs,
 * certificates, logs, pid files) live under `RealNodeOptions.stateDir`.
 *
 * @module
 */

/** Name of the real node in the cluster. */
export const NODE_NAME = "real-node";

/** Label put on the real node so workloads can be pinned to it with a nodeSelector. */
export const REAL_NODE_LABEL = "mysql-operator.otus.homework/real-node";

/** containerd state directory (sockets, task bundles, mounts); under /run so a reboot clears it. */
export const CONTAINERD_STATE = "/run/mysql-operator/containerd";
/** containerd's gRPC socket. */
export const CONTAINERD_SOCKET = `${CONTAINERD_STATE}/containerd.sock`;
/** containerd persistent root (content store, snapshots, metadata). */
export const CONTAINERD_ROOT = "/var/lib/mysql-operator/containerd";
/** containerd namespace the CRI plugin (and so the kubelet) uses. */
export const K8S_NAMESPACE = "k8s.io";

/** The kubelet's root directory (pod volumes, its self-signed serving certificate). */
export const KUBELET_ROOT = "/var/lib/mysql-operator/kubelet";
/** host-local IPAM's data directory (leased pod IPs). */
export const CNI_DATA_DIR = "/var/lib/mysql-operator/cni";
/** Where the CNI plugins of the Debian package are. */
export const CNI_BIN_DIR = "/usr/lib/cni";
/** CNI network name: also in the comments of the iptables rules the bridge plugin adds. */
export const CNI_NETWORK = "mysql-operator";
/** The Linux bridge the pods are attached to. */
export const BRIDGE = "mysqlop0";
/** Pod address range (10.88.0.0/16 does not overlap kwok's fake pod range or the Service range). */
export const POD_CIDR = "10.88.0.0/16";
/** The bridge's own address in POD_CIDR (host-local's default gateway): the host as pods see it. */
export const POD_GATEWAY = "10.88.0.1";
/** Service range the API server is started with (set by tools/cluster). */
export const SERVICE_CIDR = "10.96.0.0/16";

/** The kubelet's ports (API for exec/logs, healthz on localhost). */
export const KUBELET_PORT = 10250;
export const KUBELET_HEALTHZ_PORT = 10248;
/** kube-proxy's healthz and metrics ports (localhost only). */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const KUBE_PROXY_METRICS_PORT = 10249;

/** Which cluster currently owns the machine's real node: `{clusterName, stateDir}`. */
export const OWNER_FILE = "/run/mysql-operator/real-node.json";

/** Per-node file layout under `stateDir`. */
export function nodeFiles(stateDir: string) {
  return {
    stateDir,
    pkiDir: `${stateDir}/pki`,
    containerdConfig: `${stateDir}/containerd.toml`,
    cniConfDir: `${stateDir}/cni`,
    kubeletConfig: `${stateDir}/kubelet.yaml`,
    kubeletKubeconfig: `${stateDir}/kubelet.kubeconfig`,
    /** The kubelet's command line, compared on `up` to decide a restart. */
    kubeletArgs: `${stateDir}/kubelet.args`,
    kubeProxyConfig: `${stateDir}/kube-proxy.yaml`,
    kubeProxyKubeconfig: `${stateDir}/kube-proxy.kubeconfig`,
    record: `${stateDir}/node.json`,
    log: (name: string) => `${stateDir}/${name}.log`,
    pid: (name: string) => `${stateDir}/${name}.pid`,
  };
}

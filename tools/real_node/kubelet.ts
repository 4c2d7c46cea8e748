/**
 * The kubelet and kube-proxy of the real node: their configs and command lines.
 *
 * @module
 */
import {
  CONTAINERD_SOCKET,
  KUBE_PROXY_HEALTHZ_PORT,
  KUBE_PROXY_METRICS_PORT,
  KUBELET_HEALTHZ_PORT,
  KUBELET_PORT,
  KUBELET_ROOT,
  NODE_NAME,
  POD_CIDR,
  REAL_NODE_LABEL,
} from "./paths.ts";

/**
 * KubeletConfiguration for this kind of machine (see the facts file): cgroupfs (no systemd), cgroup v1 allowed,
 * swap tolerated, no image GC or eviction pressure on a shared developer disk, and webhook authentication and
 * authorization against the cluster, so the API server's client certificate (signed by the cluster CA) is what
 * lets exec, logs and port-forward in.
 */
export function kubeletConfig(opts: { clientCaFile: string }): string {
  return JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      cgroupDriver: "cgroupfs",
      failCgroupV1: false,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
      address: "0.0.0.0",
      port: KUBELET_PORT,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: KUBELET_HEALTHZ_PORT,
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true, cacheTTL: "30s" },
        x509: { clientCAFile: opts.clientCaFile },
      },
      authorization: { mode: "Webhook", webhook: { cacheAuthorizedTTL: "30s", cacheUnauthorizedTTL: "5s" } },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
      evictionPressureTransitionPeriod: "5s",
      // No cluster DNS on the real node (jobs connect to ClusterIPs): pods get the host's resolv.conf.
      resolvConf: "/etc/resolv.conf",
      // Status updates often enough that a test does not wait on them.
      nodeStatusUpdateFrequency: "5s",
      syncFrequency: "10s",
      fileCheckFrequency: "10s",
      serializeImagePulls: false,
      // kubelet.kubeconfig carries a long-lived client certificate; no bootstrap or rotation.
      rotateCertificates: false,
      serverTLSBootstrap: false,
      registerNode: true,
    },
    null,
    2,
  ) + "\n";
}

/** kubelet flags (those that have no config field). */
export function kubeletArgs(opts: { config: string; kubeconfig: string; nodeIp: string }): string[] {
  return [
    `--config=${opts.config}`,
    `--kubeconfig=${opts.kubeconfig}`,
    `--root-dir=${KUBELET_ROOT}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${opts.nodeIp}`,
    `--node-labels=${REAL_NODE_LABEL}=true`,
    "--v=1",
  ];
}

/**
 * KubeProxyConfiguration: iptables mode, NodePorts only on the primary address, no localhost NodePorts (would
 * set route_localnet) and conntrack settings 0 so kube-proxy changes no sysctls on the shared host.
 */
export function kubeProxyConfig(opts: { kubeconfig: string }): string {
  return JSON.stringify(
    {
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      mode: "iptables",
      hostnameOverride: NODE_NAME,
      clientConnection: { kubeconfig: opts.kubeconfig },
      clusterCIDR: POD_CIDR,
      detectLocalMode: "ClusterCIDR",
      nodePortAddresses: ["primary"],
      iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: "30s", minSyncPeriod: "0s" },
      conntrack: {
        maxPerCore: 0,
        min: 0,
        tcpEstablishedTimeout: "0s",
        tcpCloseWaitTimeout: "0s",
      },
      healthzBindAddress: `127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}`,
      metricsBindAddress: `127.0.0.1:${KUBE_PROXY_METRICS_PORT}`,
    },
    null,
    2,
  ) + "\n";
}

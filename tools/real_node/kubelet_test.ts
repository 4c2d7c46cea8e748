import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { kubeletArgs, kubeletConfig, kubeProxyConfig } from "./kubelet.ts";
import { CONTAINERD_SOCKET, NODE_NAME, POD_CIDR, REAL_NODE_LABEL } from "./paths.ts";

Deno.test("kubeletConfig: cgroupfs on cgroup v1, webhook auth with the cluster CA, no GC/eviction pressure", () => {
  const c = JSON.parse(kubeletConfig({ clientCaFile: "/c/ca.crt" }));
  equal(c.kind, "KubeletConfiguration");
  equal(c.cgroupDriver, "cgroupfs");
  equal(c.failCgroupV1, false);
  equal(c.failSwapOn, false);
  equal(c.containerRuntimeEndpoint, `unix://${CONTAINERD_SOCKET}`);
  equal(c.imageGCHighThresholdPercent, 100);
  equal(c.authentication.anonymous.enabled, false);
  equal(c.authentication.webhook.enabled, true);
  equal(c.authentication.x509.clientCAFile, "/c/ca.crt");
  equal(c.authorization.mode, "Webhook");
  equal(c.readOnlyPort, 0);
});

Deno.test("kubeletArgs: node name, address and label; no secrets on the command line", () => {
  const args = kubeletArgs({ config: "/s/k.yaml", kubeconfig: "/s/k.kubeconfig", nodeIp: "192.0.2.9" });
  ok(args.includes(`--hostname-override=${NODE_NAME}`));
  ok(args.includes("--node-ip=192.0.2.9"));
  ok(args.includes(`--node-labels=${REAL_NODE_LABEL}=true`));
  ok(args.every((a) => !/token|password|key=/i.test(a)));
});

Deno.test("kubeProxyConfig: iptables mode that changes no sysctls", () => {
  const c = JSON.parse(kubeProxyConfig({ kubeconfig: "/s/p.kubeconfig" }));
  equal(c.mode, "iptables");
  equal(c.hostnameOverride, NODE_NAME);
  equal(c.clusterCIDR, POD_CIDR);
  deepStrictEqual(c.nodePortAddresses, ["primary"]);
  equal(c.iptables.localhostNodePorts, false);
  deepStrictEqual(
    [
      c.conntrack.maxPerCore,
      c.conntrack.min,
      c.conntrack.tcpEstablishedTimeout,
      c.conntrack.tcpCloseWaitTimeout,
    ],
    [0, 0, "0s", "0s"],
  );
});

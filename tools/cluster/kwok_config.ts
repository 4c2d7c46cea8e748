/**
 * Renders the kwokctl config file every local cluster is created with: a `KwokctlConfiguration` naming every
 * binary (nothing is downloaded), binding to 127.0.0.1, with the component flags a real kubelet and fast outage
 * recovery need (see /work/shared/local-kubernetes-facts.md), followed by the kwok Stages (stages.yaml).
 *
 * @module
 */
import { stringify } from "yaml";
import type { ClusterPaths } from "./paths.ts";
import type { ClusterPorts } from "./ports.ts";
import { AUDIT_LOG_MAX_MB, auditPolicyFile } from "./audit.ts";

/** Settings that vary between clusters or runs. */
export interface KwokConfigOptions {
  /** `<KWOK_WORKDIR>/clusters/<name>`: where kwokctl will put the cluster (its pki/ holds the admin cert). */
  clusterDir: string;
  /** kube-controller-manager `--kube-api-qps` (burst 1.5×); undefined keeps the component's default. */
  kcmQps?: number;
  /** The cluster's ports, assigned by the tool (tools/cluster/ports.ts); undefined lets kwokctl pick. */
  ports?: ClusterPorts;
}

type ExtraArg = { key: string; value: string };

function args(pairs: Record<string, string>): ExtraArg[] {
  return Object.entries(pairs).map(([key, value]) => ({ key, value }));
}

/** The `componentsPatches` of the configuration (exported for the status of a cluster's settings). */
export function componentsPatches(o: KwokConfigOptions): { name: string; extraArgs: ExtraArg[] }[] {
  const kcm: Record<string, string> = {
    // Exit-on-lost-lease would turn every API-server outage into a dead controller manager.
    "leader-elect": "false",
    // The default 15 s makes a cold mysqld start take ~25 s.
    "pvclaimbinder-sync-period": "2s",
  };
  if (o.kcmQps !== undefined) {
    kcm["kube-api-qps"] = String(o.kcmQps);
    kcm["kube-api-burst"] = String(Math.ceil(o.kcmQps * 1.5));
  }
  return [
    {
      name: "kube-apiserver",
      extraArgs: args({
        // exec/logs/port-forward to a real kubelet: authenticate as kwokctl's admin, reach it by its IP.
        "kubelet-client-certificate": `${o.clusterDir}/pki/admin.crt`,
        "kubelet-client-key": `${o.clusterDir}/pki/admin.key`,
        "kubelet-preferred-address-types": "InternalIP,Hostname",
        // The default 10.0.0.0/24 overlaps kwok's fake pod IPs.
        "service-cluster-ip-range": "10.96.0.0/16",
        // The audit log (tools/cluster/audit.ts) stays bounded on clusters that live across many runs.
        "audit-log-maxsize": String(AUDIT_LOG_MAX_MB),
        "audit-log-maxbackup": "1",
      }),
    },
    {
      name: "etcd",
      // etcd replays its write-ahead log since the last snapshot at every start, and snapshots only every 10000
      // entries by default: the memory test's 1 MB Secrets made that gigabytes on a cluster kept across runs (a
      // start took minutes). Every 200 entries bounds the replay; a snapshot is cheap (the data lives in bbolt).
      extraArgs: args({ "snapshot-count": "200" }),
    },
    { name: "kube-controller-manager", extraArgs: args(kcm) },
    {
      name: "kube-scheduler",
      extraArgs: args({
        "leader-elect": "false",
        // A pod created before its claim is Bound is unschedulable until the claim's update requeues it; on these
        // machines the scheduler sometimes misses that wake-up (seen at 3 x 300: the claim Bound at 03:43:32.718,
        // the last attempt at .724 still saw it unbound, the next only at the 5-minute flush of unschedulable pods).
        // 15 s bounds that stall for every client alike (the benchmark's lower bound and the operator). Deprecated
        // but served by v1.34; KubeSchedulerConfiguration has no such field.
        "pod-max-in-unschedulable-pods-duration": "15s",
      }),
    },
    {
      name: "kwok-controller",
      // Fake only the nodes kwokctl creates, so a real kubelet can join the same cluster.
      extraArgs: args({
        "manage-all-nodes": "false",
        "manage-nodes-with-annotation-selector": "kwok.x-k8s.io/node=fake",
      }),
    },
  ];
}

/** Returns the KwokctlConfiguration document. */
export function kwokctlConfiguration(paths: ClusterPaths, o: KwokConfigOptions): Record<string, unknown> {
  return {
    apiVersion: "config.kwok.x-k8s.io/v1alpha1",
    kind: "KwokctlConfiguration",
    options: {
      runtime: "binary",
      // etcd is plain http without auth: never listen beyond loopback.
      bindAddress: "127.0.0.1",
      kubeApiserverBinary: `${paths.k8s}/kube-apiserver`,
      kubeControllerManagerBinary: `${paths.k8s}/kube-controller-manager`,
      kubeSchedulerBinary: `${paths.k8s}/kube-scheduler`,
      kubectlBinary: `${paths.k8s}/kubectl`,
      kwokControllerBinary: `${paths.kwok}/kwok`,
      etcdBinary: `${paths.etcd}/etcd`,
      etcdctlBinary: `${paths.etcd}/etcdctl`,
      // Writes recorded by the API server, with their User-Agent: what tests judge the operator's writes by.
      kubeAuditPolicy: auditPolicyFile(paths),
      ...o.ports,
    },
    componentsPatches: componentsPatches(o),
  };
}

/** Returns the whole config file: the KwokctlConfiguration, then the Stages. */
export async function renderKwokConfig(paths: ClusterPaths, o: KwokConfigOptions): Promise<string> {
  const stages = await Deno.readTextFile(new URL("./stages.yaml", import.meta.url));
  // stages.yaml starts with comments and its own `---`, so no empty document appears in between.
  return `${stringify(kwokctlConfiguration(paths, o))}${stages}`;
}

/** A short fingerprint of the settings, stored beside a cluster to notice when `up` asks for other ones. */
export async function settingsFingerprint(config: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(config));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

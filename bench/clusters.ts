/**
 * The benchmark's clusters: dedicated kwokctl clusters (mo-bench-1..M with the controller manager's default client
 * limits, mo-bench-qps-1..M with `--kube-api-qps 500`), the CRD, and two identities per cluster, each a client
 * certificate signed by the cluster's CA: `bench-operator` (the operator) and `bench-direct` (the lower-bound
 * writer). A FlowSchema per identity (exempt priority level: never throttled, like the admin) makes the API server
 * count each identity's requests on its own (`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}`),
 * which is how the operator's own request counts are cross-checked.
 *
 * @module
 */
import { stringify } from "yaml";
import { upClusters } from "../tools/cluster/clusters.ts";
import { clusterDir, clusterPaths, contextName } from "../tools/cluster/paths.ts";
import { componentPid } from "../tools/cluster/state.ts";
import { ensureClientCert } from "../tools/real_node/pki.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { installCRD } from "../cli/crd.ts";

/** The identities the benchmark creates in every cluster. */
export const IDENTITIES = ["bench-operator", "bench-direct"] as const;
/** One of {@link IDENTITIES}. */
export type Identity = typeof IDENTITIES[number];

/** A set of clusters with one controller-manager setting. */
export interface BenchClusters {
  /** `default` or `raised`. */
  profile: string;
  /** Cluster names. */
  names: string[];
  /** Contexts (`kwok-<name>`), in the order of names. */
  contexts: string[];
  /** The tool's merged kubeconfig (admin). */
  adminKubeconfig: string;
  /** Kubeconfig per identity (same context names, the identity's certificate). */
  kubeconfigs: Record<Identity, string>;
  /** API server URL per context. */
  servers: Record<string, string>;
  /** kube-controller-manager's --kube-api-qps as its running process has it (undefined: the default, 20). */
  kcmQps: Record<string, number | undefined>;
  /** An admin client per context (the benchmark's own reads and writes). */
  admin: Record<string, KubeClient>;
  /** The API server's /metrics text per context (admin). */
  scrape: Record<string, () => Promise<string>>;
  /** Closes the clients. */
  close(): void;
}

/** Cluster names of a profile. */
export function benchNames(profile: "default" | "raised", count: number): string[] {
  const prefix = profile === "raised" ? "mo-bench-qps-" : "mo-bench-";
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}

/** The --kube-api-qps of a cluster's running controller manager (undefined when it runs with the default). */
async function liveKcmQps(name: string): Promise<number | undefined> {
  const paths = await clusterPaths();
  const pid = await componentPid(paths, name, "kube-controller-manager");
  if (pid === undefined) return undefined;
  const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).split("\0");
  const flag = args.find((a) => a.startsWith("--kube-api-qps="));
  return flag ? Number(flag.split("=")[1]) : undefined;
}

const FLOW_SCHEMA = (user: string) => ({
  apiVersion: "flowcontrol.apiserver.k8s.io/v1",
  kind: "FlowSchema",
  metadata: { name: user },
  spec: {
    matchingPrecedence: 100,
    priorityLevelConfiguration: { name: "exempt" },
    rules: [{
      subjects: [{ kind: "User", user: { name: user } }],
      resourceRules: [{
        verbs: ["*"],
        apiGroups: ["*"],
        resources: ["*"],
        namespaces: ["*"],
        clusterScope: true,
      }],
      nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
    }],
  },
});

const BINDING = (user: string) => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: user },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
  subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
});

const b64 = (s: string) => btoa(s);

/**
 * Brings the clusters up (reusing running ones), installs the CRD, and sets up the identities. `workDir` receives
 * the certificates and kubeconfigs (the caller removes it).
 */
export async function prepareClusters(
  profile: "default" | "raised",
  names: string[],
  workDir: string,
  nodes: number,
  log: (m: string) => void,
): Promise<BenchClusters> {
  const up = await upClusters({ names, kcmQps: profile === "raised" ? 500 : undefined, nodes, log });
  const paths = await clusterPaths();
  const kc = loadKubeconfig({ path: up.kubeconfig });
  const admin: Record<string, KubeClient> = {};
  const servers: Record<string, string> = {};
  const kcmQps: Record<string, number | undefined> = {};
  const scrape: Record<string, () => Promise<string>> = {};
  const raw: Deno.HttpClient[] = [];
  const docs: Record<Identity, { clusters: unknown[]; users: unknown[]; contexts: unknown[] }> = {
    "bench-operator": { clusters: [], users: [], contexts: [] },
    "bench-direct": { clusters: [], users: [], contexts: [] },
  };
  for (const name of names) {
    const ctx = contextName(name);
    const conn = await connectionFor(kc, ctx);
    const client = new KubeClient(conn);
    admin[ctx] = client;
    servers[ctx] = conn.server;
    kcmQps[ctx] = await liveKcmQps(name);
    const http = Deno.createHttpClient({
      caCerts: conn.caPem ? [conn.caPem] : [],
      ...(conn.certPem && conn.keyPem ? { cert: conn.certPem, key: conn.keyPem } : {}),
    });
    raw.push(http);
    scrape[ctx] = async () => {
      const res = await fetch(new URL("/metrics", conn.server), {
        client: http,
        signal: AbortSignal.timeout(15_000),
      });
      if (!res.ok) throw new Error(`${ctx} /metrics: ${res.status}`);
      return await res.text();
    };
    await installCRD(client, 60_000);
    const dir = clusterDir(paths, name);
    for (const user of IDENTITIES) {
      await client.apply(
        `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${user}`,
        BINDING(user),
        "mysql-operator-bench",
      );
      await client.apply(
        `/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas/${user}`,
        FLOW_SCHEMA(user),
        "mysql-operator-bench",
      );
      const pki = `${workDir}/pki/${name}`;
      await ensureClientCert(pki, dir, {
        file: user,
        commonName: user,
        organization: "mysql-operator-bench",
      });
      const d = docs[user];
      d.clusters.push({
        name: ctx,
        cluster: { server: conn.server, "certificate-authority-data": b64(conn.caPem ?? "") },
      });
      d.users.push({
        name: `${user}@${name}`,
        user: {
          "client-certificate-data": b64(await Deno.readTextFile(`${pki}/${user}.crt`)),
          "client-key-data": b64(await Deno.readTextFile(`${pki}/${user}.key`)),
        },
      });
      d.contexts.push({ name: ctx, context: { cluster: ctx, user: `${user}@${name}` } });
    }
  }
  const kubeconfigs = {} as Record<Identity, string>;
  for (const user of IDENTITIES) {
    const path = `${workDir}/kubeconfig-${profile}-${user}.yaml`;
    const d = docs[user];
    await Deno.writeTextFile(
      path,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: d.clusters,
        users: d.users,
        contexts: d.contexts,
        "current-context": contextName(names[0]),
      }),
      { mode: 0o600 },
    );
    kubeconfigs[user] = path;
  }
  return {
    profile,
    names,
    contexts: names.map(contextName),
    adminKubeconfig: up.kubeconfig,
    kubeconfigs,
    servers,
    kcmQps,
    admin,
    scrape,
    close() {
      for (const client of Object.values(admin)) client.close();
      for (const h of raw) h.close();
    },
  };
}

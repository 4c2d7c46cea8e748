/**
 * deploy/rbac.yaml is exactly enough. The operator (same entry point and permissions as the binary) runs with a
 * kubeconfig whose user is a ServiceAccount token (`kubectl create token`) bound to deploy/'s ClusterRole and
 * Role: the whole scenario (create → Ready → backup-now → delete with the final backup) passes. Then, for EACH rule,
 * a copy of the roles without that rule: the operator reports a Forbidden that names the verb and the resource (in
 * its log, an event or the object's Ready condition) and keeps running (/healthz 200).
 *
 * It runs on a dedicated local cluster, `mo-rbac-1`, whose API server also enables the
 * OwnerReferencesPermissionEnforcement admission plugin (as hardened clusters and OpenShift do): only there is the
 * `mysqls/finalizers` rule needed (children's ownerReferences set blockOwnerDeletion).
 *
 * @module
 */
import { parseAllDocuments, stringify } from "yaml";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_clusters.ts";
import { clientFor, courseObject } from "./_k8s.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { type OperatorProcess, startOperatorProcess } from "./_operator.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { clusterDir, type ClusterPaths, clusterPaths } from "../tools/cluster/paths.ts";
import { kubectlDirect, kwokctl } from "../tools/cluster/kwokctl.ts";
import { kwokctlConfiguration, renderKwokConfig, settingsFingerprint } from "../tools/cluster/kwok_config.ts";
import { controllersWorking, startStoppedCluster, withClusterLock } from "../tools/cluster/clusters.ts";
import { clusterState, listClusterNames } from "../tools/cluster/state.ts";
import { assignPorts } from "../tools/cluster/ports.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const CLUSTER = "mo-rbac-1";
const ADMISSION = "OwnerReferencesPermissionEnforcement";
const log = (m: string) => console.error(`[rbac] ${m}`);

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** `kwokctl create cluster` with the project's settings plus the admission plugin. */
async function createCluster(paths: ClusterPaths, dir: string): Promise<void> {
  // The tool's own port assignment (under its lock, as here), so no other cluster is ever given these ports.
  const ports = await assignPorts(paths, CLUSTER, await listClusterNames(paths));
  const cfg = kwokctlConfiguration(paths, { clusterDir: dir, ports }) as Obj;
  cfg.componentsPatches.find((c: Obj) => c.name === "kube-apiserver").extraArgs.push({
    key: "enable-admission-plugins",
    value: ADMISSION,
  });
  const stages = await Deno.readTextFile(`${ROOT}tools/cluster/stages.yaml`);
  await Deno.mkdir(paths.workdir, { recursive: true });
  const file = `${paths.workdir}/.config-${CLUSTER}-${crypto.randomUUID()}.yaml`;
  await Deno.writeTextFile(file, `${stringify(cfg)}${stages}`);
  try {
    log(`creating ${CLUSTER} (API server with ${ADMISSION})`);
    await kwokctl(paths, [
      "create",
      "cluster",
      "--name",
      CLUSTER,
      "--runtime",
      "binary",
      "--config",
      file,
      "--kubeconfig=",
      "--wait",
      "3m",
      "--node-lease-duration-seconds",
      "0",
    ], { timeoutMs: 300_000 });
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/**
 * Creates or starts `mo-rbac-1`: the project's cluster settings plus the admission plugin, with one fake node.
 * Under the cluster tool's lock, so it never races other clusters for ports.
 */
async function ensureRbacCluster(paths: ClusterPaths): Promise<void> {
  const dir = clusterDir(paths, CLUSTER);
  await withClusterLock(paths, `rbac test cluster ${CLUSTER}`, log, async () => {
    const st = await clusterState(paths, CLUSTER);
    // Settings of this cluster (the tool's, without ports, plus the admission plugin): a cluster made with others
    // (e.g. older kwok stages) is made again, or the test would run against stale behaviour.
    const settings = `${await settingsFingerprint(
      await renderKwokConfig(paths, { clusterDir: dir }),
    )} ${ADMISSION}`;
    const settingsFile = `${dir}/mysql-operator-rbac-settings`;
    const recorded = await Deno.readTextFile(settingsFile).then((t) => t.trim(), () => undefined);
    if (!st.configured || (st.exists && recorded !== settings)) {
      if (st.exists) {
        await kwokctl(paths, [
          "delete",
          "cluster",
          "--name",
          CLUSTER,
          "--kubeconfig",
          `${dir}/kubeconfig.yaml`,
        ]);
      }
      await createCluster(paths, dir);
      await Deno.writeTextFile(settingsFile, `${settings}\n`);
    }
    // The cluster tool's start: dead components started again until kube-controller-manager demonstrably works
    // (it exits when the API server is not healthy soon enough, which happens on a loaded machine).
    if (!(await clusterState(paths, CLUSTER)).running || !(await controllersWorking(paths, CLUSTER))) {
      log(`starting ${CLUSTER}`);
      await startStoppedCluster(paths, CLUSTER, log);
    }
    if (!(await k(paths, "get", "nodes", "-o", "name")).trim()) {
      await kwokctl(paths, ["scale", "node", "--replicas", "1", "--name", CLUSTER]);
    }
  });
  await waitFor(
    `${CLUSTER} API server`,
    async () => (await k(paths, "get", "--raw", "/readyz")).trim() === "ok",
    90_000,
    250,
  );
  await waitFor(`${CLUSTER} fake node Ready`, async () => {
    const nodes = JSON.parse(await k(paths, "get", "nodes", "-o", "json")).items as Obj[];
    return nodes.some((n) =>
      n.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True")
    );
  }, 60_000);
}

function k(paths: ClusterPaths, ...args: string[]): Promise<string> {
  return kubectlDirect(paths, CLUSTER, ["--request-timeout=30s", ...args], { timeoutMs: 60_000 });
}

function kIn(paths: ClusterPaths, stdin: string, ...args: string[]): Promise<string> {
  return kubectlDirect(paths, CLUSTER, args, { stdin, timeoutMs: 60_000 });
}

/** What a failure message needs to tell a broken cluster from a broken operator. */
async function clusterDiagnostics(ns: string): Promise<string> {
  const st = await clusterState(paths, CLUSTER);
  const procs = st.components.map((c) => `${c.name}=${c.alive ? "alive" : "dead"}`).join(" ");
  const objs = await k(paths, "get", "deployments,replicasets,pods,jobs,pvc", "-n", ns, "-o", "wide")
    .catch((e) => (e as Error).message);
  return `--- ${CLUSTER}: ${procs}\n${objs}`;
}

const paths = await clusterPaths();
await ensureRbacCluster(paths);
await kIn(
  paths,
  await Deno.readTextFile(`${ROOT}deploy/crd.yaml`),
  "apply",
  "--server-side",
  "--force-conflicts",
  "-f",
  "-",
);
await k(paths, "wait", "--for=condition=Established", "crd/mysqls.otus.homework", "--timeout=60s");

const docs = parseAllDocuments(await Deno.readTextFile(`${ROOT}deploy/rbac.yaml`)).map((d) =>
  d.toJS() as Obj
);
const CLUSTER_RULES: Rule[] = docs.find((d) => d.kind === "ClusterRole")!.rules;
const ROLE_RULES: Rule[] = docs.find((d) => d.kind === "Role")!.rules;
/** An admin client of the cluster (the cluster's own kubeconfig). */
const admin = await clientFor(`${clusterDir(paths, CLUSTER)}/kubeconfig.yaml`, `kwok-${CLUSTER}`);
const server = JSON.parse(await k(paths, "config", "view", "--raw", "-o", "json")).clusters[0].cluster
  .server as string;

/** A test namespace with a ServiceAccount bound to `clusterRules` (cluster-wide) and `roleRules` (leases, here). */
async function identity(prefix: string, clusterRules: Rule[], roleRules: Rule[]) {
  const ns = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const name = `mo-rbac-${ns}`;
  const sa = { kind: "ServiceAccount", name: "mysql-operator", namespace: ns };
  const objects = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa.name, namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name },
      rules: clusterRules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: ns },
      rules: roleRules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [sa],
    },
  ];
  await kIn(paths, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }), "apply", "-f", "-");
  const token = (await k(paths, "create", "token", sa.name, "-n", ns, "--duration", "1h")).trim();
  const kubeconfig = await Deno.makeTempFile({ prefix: "rbac-kubeconfig-", suffix: ".yaml" });
  await Deno.writeTextFile(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "rbac",
        cluster: { server, "certificate-authority": `${clusterDir(paths, CLUSTER)}/pki/ca.crt` },
      }],
      users: [{ name: "operator", user: { token } }],
      contexts: [{ name: "rbac", context: { cluster: "rbac", user: "operator" } }],
      "current-context": "rbac",
    }),
    { mode: 0o600 },
  );
  const cleanup = async () => {
    const left = await k(paths, "get", "mysql", "-n", ns, "-o", "name").catch(() => "");
    for (const o of left.split("\n").filter((l) => l.trim())) {
      await k(paths, "patch", o, "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}').catch(
        () => {},
      );
    }
    await k(paths, "delete", "namespace", ns, "--wait=false").catch(() => {});
    await k(paths, "delete", "clusterrolebinding,clusterrole", name, "--ignore-not-found").catch(() => {});
    const pvs = JSON.parse(await k(paths, "get", "pv", "-l", `otus.homework/namespace=${ns}`, "-o", "json"))
      .items as Obj[];
    if (pvs.length) {
      await k(paths, "delete", "pv", ...pvs.map((p) => p.metadata.name), "--wait=false").catch(() => {});
    }
    await Deno.remove(kubeconfig).catch(() => {});
  };
  return { ns, kubeconfig, cleanup };
}

function startOperator(kubeconfig: string, ns: string): Promise<OperatorProcess> {
  return startOperatorProcess([
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    ns,
    "--lease-namespace",
    ns,
    "--lease-duration-seconds",
    "4",
  ]);
}

/** Every text the operator reported: its log records, the object's events and its Ready condition. */
async function reports(op: OperatorProcess, ns: string): Promise<Array<{ source: string; text: string }>> {
  const out: Array<{ source: string; text: string }> = [];
  for (const line of (await op.logs()).split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const r = JSON.parse(line);
      out.push({ source: `log ${r.level}`, text: `${r.message} ${r.error ?? ""}` });
    } catch { /* not a record */ }
  }
  const events = (await admin.list(collectionPath(RESOURCES.event, ns))).items;
  for (const e of events) out.push({ source: `event ${e.reason}`, text: e.message });
  const objs = (await admin.list(collectionPath(RESOURCES.mysql, ns))).items;
  for (const o of objs) {
    const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
    if (ready) out.push({ source: `condition Ready=${ready.status} ${ready.reason}`, text: ready.message });
  }
  return out;
}

/** The test's object as the admin sees it, or undefined (API calls, not kubectl processes: polled often). */
const getMySQL = (ns: string) => admin.getOrUndefined(objectPath(RESOURCES.mysql, ns, "mysql-instance"));
const condition = (o: Obj | undefined, type: string) =>
  (o?.status?.conditions ?? []).find((c: Obj) => c.type === type);

Deno.test("with exactly deploy/'s RBAC (ServiceAccount token) the scenario passes: create → Ready → backup → delete", async () => {
  const id = await identity("rbac-full", CLUSTER_RULES, ROLE_RULES);
  const op = await startOperator(id.kubeconfig, id.ns);
  try {
    await kIn(paths, JSON.stringify(await courseObject(id.ns)), "apply", "-f", "-");
    await waitFor(
      "Ready=True",
      async () => condition(await getMySQL(id.ns), "Ready")?.status === "True",
      60_000,
    );
    await k(paths, "annotate", "mysql", "mysql-instance", "-n", id.ns, `${ANNOTATIONS.backupNow}=1`);
    await waitFor("the manual backup", async () => {
      const c = condition(await getMySQL(id.ns), "BackupReady");
      return c?.status === "True" && c.reason === "BackupSucceeded";
    }, 60_000);
    await k(paths, "delete", "mysql", "mysql-instance", "-n", id.ns, "--wait=false");
    await waitFor("the object to be gone (final backup done)", async () => !(await getMySQL(id.ns)), 90_000);
    const forbidden = (await reports(op, id.ns)).filter((r) => /forbidden/i.test(r.text));
    assertEquals(forbidden, [], "nothing was refused");
    assertEquals((await op.http("/healthz")).status, 200);
  } catch (err) {
    console.error(
      `--- operator log ---\n${(await op.logs()).slice(-15_000)}\n${await clusterDiagnostics(id.ns)}`,
    );
    throw err;
  } finally {
    await op.stop();
    await id.cleanup();
  }
});

/** What the operator must report when a rule is missing: the first verb it needs on that resource. */
const FIRST_VERB: Record<string, string> = {
  mysqls: "list",
  "mysqls/status": "patch",
  "mysqls/finalizers": "update",
  deployments: "list",
  services: "list",
  persistentvolumeclaims: "list",
  persistentvolumes: "list",
  secrets: "list",
  jobs: "list",
  pods: "list",
  namespaces: "list",
  events: "create",
  leases: "get",
};

/**
 * The admission plugin's refusal names the owner's finalizers but not the verb (its text is fixed by the API
 * server): "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on".
 */
const NEEDLE: Record<string, string> = {
  "mysqls/finalizers": "you can't set finalizers on",
};

interface Case {
  resource: string;
  clusterRules: Rule[];
  roleRules: Rule[];
}

const CASES: Case[] = [
  ...CLUSTER_RULES.map((r, i) => ({
    resource: r.resources[0],
    clusterRules: CLUSTER_RULES.filter((_, j) => j !== i),
    roleRules: ROLE_RULES,
  })),
  ...ROLE_RULES.map((r, i) => ({
    resource: r.resources[0],
    clusterRules: CLUSTER_RULES,
    roleRules: ROLE_RULES.filter((_, j) => j !== i),
  })),
];

interface CaseResult {
  resource: string;
  seconds?: number;
  source?: string;
  text?: string;
  error?: string;
}

async function runCase(c: Case): Promise<CaseResult> {
  const t0 = performance.now();
  const verb = FIRST_VERB[c.resource];
  if (!verb) {
    return { resource: c.resource, error: `no expected verb for ${c.resource} (a new rule? add it here)` };
  }
  const id = await identity(
    `rbac-${c.resource.replace(/[^a-z]+/g, "-")}`.slice(0, 40),
    c.clusterRules,
    c.roleRules,
  );
  // The Forbidden answer of the API server names both, e.g. `cannot list resource "deployments"`.
  const needle = NEEDLE[c.resource] ?? `cannot ${verb} resource "${c.resource}"`;
  let op: OperatorProcess | undefined;
  try {
    op = await startOperator(id.kubeconfig, id.ns);
    // backup-now from the start: the pods rule is needed only to read a finished backup Job's report.
    const obj = await courseObject(id.ns);
    obj.metadata.annotations = { [ANNOTATIONS.backupNow]: "1" };
    await kIn(paths, JSON.stringify(obj), "apply", "-f", "-");
    const found = await waitFor(
      `a Forbidden naming ${needle}`,
      async () =>
        (await reports(op!, id.ns)).find((r) => r.text.includes(needle) && /forbidden/i.test(r.text)),
      60_000,
      500,
    );
    const health = await op.http("/healthz");
    if (health.status !== 200) return { resource: c.resource, error: `/healthz ${health.status}` };
    const seconds = Math.round(performance.now() - t0) / 1000;
    return { resource: c.resource, seconds, source: found.source, text: found.text.slice(0, 300) };
  } catch (err) {
    const logs = op ? (await op.logs()).slice(-4000) : "(not started)";
    return {
      resource: c.resource,
      error: `${(err as Error).message}\n--- operator log ---\n${logs}\n${await clusterDiagnostics(id.ns)}`,
    };
  } finally {
    await op?.stop();
    await id.cleanup();
  }
}

Deno.test("without any one rule the operator reports Forbidden naming the verb and resource, and keeps running", async () => {
  assertEquals(
    CASES.map((c) => c.resource).sort(),
    Object.keys(FIRST_VERB).sort(),
    "every rule of deploy/rbac.yaml has a case",
  );
  const results: CaseResult[] = [];
  const queue = [...CASES];
  // A few at a time: each case is an operator process and a namespace.
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) results.push(await runCase(c));
  }));
  for (const r of results.sort((a, b) => a.resource.localeCompare(b.resource))) {
    console.error(
      `  ${r.resource.padEnd(24)} ${r.error ? "FAILED" : `${r.seconds} s, ${r.source}: ${r.text}`}`,
    );
  }
  const failed = results.filter((r) => r.error);
  assert(failed.length === 0, failed.map((f) => `${f.resource}: ${f.error}`).join("\n\n"));
});

/**
 * deploy/rbac.yaml is exactly enough. The operator (same entry point and permissions as the binary) runs with a
 * kubeconfig whose user is a ServiceAccount token (`kubectl create token`) bound to deploy/'s ClusterRole and
 * Role: the whole scenario (start → create → Ready → drift put back → backup-now → delete with the final backup)
 * passes. Then, for EACH verb of each rule, a copy of the roles without just that verb, and the same scenario,
 * step by step: the operator reports a Forbidden that names the verb and the resource (in its log, an event or the
 * object's Ready condition) no later than the step that needs it (NEEDED_AT), and keeps running (/healthz 200). A
 * verb whose removal lets the whole scenario pass is a verb too many: the case fails.
 *
 * It runs on a dedicated local cluster, `mo-rbac-1`, whose API server also enables the
 * OwnerReferencesPermissionEnforcement admission plugin (as hardened clusters and OpenShift do): only there is the
 * `mysqls/finalizers` rule needed (children's ownerReferences set blockOwnerDeletion).
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { parseAllDocuments, stringify } from "yaml";
import { assert, assertEquals } from "./_assert.ts";
import { waitFor } from "./_clusters.ts";
import { clientFor, courseObject } from "./_k8s.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { type OperatorProcess, startOperatorProcess } from "./_operator.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { clusterDir, type ClusterPaths } from "../tools/cluster/paths.ts";
import { ensureBinaries } from "../tools/cluster/binaries.ts";
import { kubectlDirect, kwokctl } from "../tools/cluster/kwokctl.ts";
import { kwokctlConfiguration, renderKwokConfig, settingsFingerprint } from "../tools/cluster/kwok_config.ts";
import { startStoppedCluster, withClusterLock } from "../tools/cluster/clusters.ts";
import { controllersWorking } from "../tools/cluster/probe.ts";
import { clusterState, listClusterNames } from "../tools/cluster/state.ts";
import { assignPorts } from "../tools/cluster/ports.ts";
import { writeAuditPolicy } from "../tools/cluster/audit.ts";

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
  await writeAuditPolicy(paths); // named in the configuration; kwokctl copies it into the cluster
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
  const objs = await k(paths, "get", "deployments,replicasets,pods,jobs,pvc,events", "-n", ns, "-o", "wide")
    .catch((e) => (e as Error).message);
  return `--- ${CLUSTER}: ${procs}\n${objs}`;
}

// The pinned binaries (built when missing: minutes on a cold machine; build.sh serialises concurrent builds).
const paths = await ensureBinaries();
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
  // The API server authorizes from caches of the bindings: wait until it applies these, or the operator's first
  // requests could be refused for a moment and be taken for a missing rule.
  const as = `system:serviceaccount:${ns}:${sa.name}`;
  for (const [rules, scope] of [[clusterRules, ["-A"]], [roleRules, ["-n", ns]]] as const) {
    const rule = rules.find((r) => r.verbs.length && r.resources.length && !r.verbs.includes("*"));
    if (!rule) continue;
    const resource = [rule.resources[0], rule.apiGroups[0]].filter(Boolean).join(".");
    await waitFor(
      `${as} may ${rule.verbs[0]} ${resource}`,
      async () =>
        (await k(paths, "auth", "can-i", rule.verbs[0], resource, ...scope, "--as", as)).trim() === "yes",
    );
  }
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
  const objs = (await admin.list(collectionPath(MYSQL_RESOURCE, ns))).items;
  for (const o of objs) {
    const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
    if (ready) out.push({ source: `condition Ready=${ready.status} ${ready.reason}`, text: ready.message });
  }
  return out;
}

/** The test's object as the admin sees it, or undefined (API calls, not kubectl processes: polled often). */
const getMySQL = (ns: string) => admin.getOrUndefined(objectPath(MYSQL_RESOURCE, ns, "mysql-instance"));
const condition = (o: Obj | undefined, type: string) =>
  (o?.status?.conditions ?? []).find((c: Obj) => c.type === type);

type Report = { source: string; text: string };

/** One step of the scenario: an action (of a user, as the admin) and when it is done. */
interface Step {
  name: string;
  act?: () => Promise<unknown>;
  done: () => Promise<boolean>;
  timeoutMs: number;
}

const STEPS = [
  "start",
  "create → Ready",
  "drift → put back",
  "backup-now → backed up",
  "delete → gone",
] as const;
type StepName = (typeof STEPS)[number];

/**
 * Everything the operator ever does to one object, step by step: it starts (lists and watches, takes the Lease),
 * makes the children, puts back hand edits of its Deployment, Service and Secret (server-side apply), takes a
 * requested backup (Job, its pod's report, annotations on the backup claim and volume, the Job deleted), and on
 * deletion takes the final backup and deletes mysqld, the Secret, the data claim and volume.
 */
function scenario(ns: string, op: OperatorProcess): Step[] {
  const path = (r: (typeof RESOURCES)[keyof typeof RESOURCES], name: string) => objectPath(r, ns, name);
  const owned = [
    path(RESOURCES.deployment, "mysql-instance"),
    path(RESOURCES.service, "mysql-instance"),
    path(RESOURCES.secret, "mysql-instance-credentials"),
  ];
  const NAME = "app.kubernetes.io/name";
  const goneOrGoing = async (p: string) => {
    const o = await admin.getOrUndefined(p);
    return !o || Boolean(o.metadata?.deletionTimestamp);
  };
  const noJobs = async () =>
    (await admin.list(collectionPath(RESOURCES.job, ns))).items.every((j) => j.metadata?.deletionTimestamp);
  let streak = 0;
  return [{
    name: "start",
    // Synced, every watch open and the Lease held, twice in a row (a refused watch fails right after its list).
    done: async () => {
      const r = await op.http("/readyz");
      const ok = r.status === 200 &&
        (JSON.parse(r.body).clusters as Obj[]).every((c) => c.synced && c.connected && c.leading);
      streak = ok ? streak + 1 : 0;
      return streak >= 2;
    },
    timeoutMs: 60_000,
  }, {
    name: "create → Ready",
    act: async () => kIn(paths, JSON.stringify(await courseObject(ns)), "apply", "-f", "-"),
    done: async () => condition(await getMySQL(ns), "Ready")?.status === "True",
    timeoutMs: 120_000,
  }, {
    name: "drift → put back",
    // A label the operator sets, changed by hand on each owned child: put back with server-side apply (a PATCH).
    act: () =>
      k(
        paths,
        "label",
        "--overwrite",
        "-n",
        ns,
        "deployment/mysql-instance",
        "service/mysql-instance",
        "secret/mysql-instance-credentials",
        `${NAME}=edited`,
      ),
    done: async () => {
      for (const p of owned) if ((await admin.get(p)).metadata?.labels?.[NAME] !== "mysql") return false;
      return true;
    },
    timeoutMs: 60_000,
  }, {
    name: "backup-now → backed up",
    act: () => k(paths, "annotate", "mysql", "mysql-instance", "-n", ns, `${ANNOTATIONS.backupNow}=1`),
    // Recorded (the Job's pod report read, the backup claim and volume annotated), then the Job deleted.
    done: async () => {
      const c = condition(await getMySQL(ns), "BackupReady");
      return c?.status === "True" && c.reason === "BackupSucceeded" && await noJobs();
    },
    timeoutMs: 90_000,
  }, {
    name: "delete → gone",
    act: () => k(paths, "delete", "mysql", "mysql-instance", "-n", ns, "--wait=false"),
    // The finalizer comes off only after the final backup and the final step (mysqld, Secret, data deleted).
    done: async () => {
      if (await getMySQL(ns)) return false;
      for (const p of [...owned, path(RESOURCES.pvc, "mysql-instance-data")]) {
        if (!(await goneOrGoing(p))) return false;
      }
      const pvs = (await admin.list(collectionPath(RESOURCES.pv), {
        labelSelector: `otus.homework/namespace=${ns},app.kubernetes.io/component=data`,
      })).items;
      if (pvs.some((p) => !p.metadata?.deletionTimestamp) || !(await noJobs())) return false;
      const events = (await admin.list(collectionPath(RESOURCES.event, ns))).items;
      return events.some((e) => e.reason === "BackupSucceeded" && /^final backup/.test(e.message));
    },
    timeoutMs: 150_000,
  }];
}

/** Runs the scenario until `found` finds something (that step's index) or it completes (no `found`). */
async function runScenario(
  ns: string,
  op: OperatorProcess,
  found: () => Promise<Report | undefined>,
): Promise<{ found?: Report; step: number; seconds: number[] }> {
  const steps = scenario(ns, op);
  assertEquals(steps.map((s) => s.name), [...STEPS]);
  const seconds: number[] = [];
  for (const [i, s] of steps.entries()) {
    const t0 = performance.now();
    const deadline = performance.now() + s.timeoutMs;
    try {
      await s.act?.();
      for (;;) {
        const f = await found();
        if (f) return { found: f, step: i, seconds };
        if (await s.done().catch(() => false)) break;
        if (performance.now() > deadline) {
          throw new Error(`step "${s.name}" not done after ${s.timeoutMs / 1000} s`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      const f = await found(); // the action may fail for the reason the operator reports
      if (f) return { found: f, step: i, seconds };
      throw err;
    }
    seconds.push(Math.round(performance.now() - t0) / 1000);
  }
  // Anything reported while the last step was seen done.
  return { found: await found(), step: steps.length - 1, seconds };
}

Deno.test("with exactly deploy/'s RBAC (ServiceAccount token) the scenario passes: start → Ready → drift → backup → delete", async () => {
  const id = await identity("rbac-full", CLUSTER_RULES, ROLE_RULES);
  const op = await startOperator(id.kubeconfig, id.ns);
  try {
    const forbidden = async () => (await reports(op, id.ns)).find((r) => /forbidden/i.test(r.text));
    const r = await runScenario(id.ns, op, forbidden);
    assertEquals(r.found, undefined, "nothing was refused");
    log(`full RBAC: ${STEPS.map((s, i) => `${s} ${r.seconds[i]} s`).join(", ")}`);
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

/**
 * Where the scenario first needs each (resource, verb) of deploy/rbac.yaml: without it, the Forbidden is reported
 * at that step at the latest. Every pair of deploy/rbac.yaml must be here, and nothing else.
 */
const NEEDED_AT: Record<string, StepName> = {
  "mysqls list": "start",
  "mysqls watch": "start",
  "mysqls patch": "create → Ready", // the finalizer (JSON patch)
  "mysqls/status patch": "create → Ready",
  "mysqls/finalizers update": "create → Ready", // admission of children with blockOwnerDeletion
  "deployments get": "create → Ready", // a name the cache does not hold is read live before any write
  "deployments list": "start",
  "deployments watch": "start",
  "deployments create": "create → Ready",
  "deployments patch": "drift → put back", // server-side apply
  "deployments delete": "delete → gone",
  "services get": "create → Ready",
  "services list": "start",
  "services watch": "start",
  "services create": "create → Ready",
  "services patch": "drift → put back",
  "services delete": "delete → gone",
  "persistentvolumeclaims get": "create → Ready",
  "persistentvolumeclaims list": "start",
  "persistentvolumeclaims watch": "start",
  "persistentvolumeclaims create": "create → Ready",
  "persistentvolumeclaims patch": "backup-now → backed up", // the backup claim annotated
  "persistentvolumeclaims delete": "delete → gone",
  "persistentvolumes get": "create → Ready",
  "persistentvolumes list": "start",
  "persistentvolumes watch": "start",
  "persistentvolumes create": "create → Ready",
  "persistentvolumes patch": "backup-now → backed up", // the backup volume annotated
  "persistentvolumes delete": "delete → gone",
  "namespaces list": "start",
  "namespaces watch": "start",
  "secrets get": "create → Ready",
  "secrets list": "start",
  "secrets watch": "start",
  "secrets create": "create → Ready",
  "secrets patch": "drift → put back",
  "secrets delete": "delete → gone",
  "jobs list": "start",
  "jobs watch": "start",
  "jobs create": "backup-now → backed up",
  "jobs delete": "backup-now → backed up", // once the outcome is recorded
  "pods list": "backup-now → backed up", // the finished Job's report
  "events create": "create → Ready",
  "leases get": "start",
  "leases list": "start", // the replicas' member slots
  "leases create": "start",
  "leases update": "create → Ready", // the first renewal, a third of the lease duration after taking it
};

/**
 * Needs that come with a timer, not with a step: the first lease renewal lands in whichever step is running then
 * (on a fast run the steps before it are over within its ~3 s). Such a verb must still be reported, in any step.
 */
const TIMER_DRIVEN = new Set(["leases update"]);

/**
 * The admission plugin's refusal names the owner's finalizers but not the verb (its text is fixed by the API
 * server): "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on".
 */
const NEEDLE: Record<string, string> = {
  "mysqls/finalizers update": "you can't set finalizers on",
};

interface Case {
  resource: string;
  verb: string;
  clusterRules: Rule[];
  roleRules: Rule[];
}

/** `rules` where `resource` lacks just `verb` (a rule naming other resources too is split; an empty one dropped). */
function without(rules: Rule[], resource: string, verb: string): Rule[] {
  return rules.flatMap((r) => {
    if (!r.resources.includes(resource)) return [r];
    const others = r.resources.filter((x) => x !== resource);
    const verbs = r.verbs.filter((v) => v !== verb);
    return [
      ...(others.length ? [{ ...r, resources: others }] : []),
      ...(verbs.length ? [{ ...r, resources: [resource], verbs }] : []),
    ];
  });
}

/** Every (resource, verb) of a set of rules. */
const pairs = (rules: Rule[]) =>
  rules.flatMap((r) => r.resources.flatMap((resource) => r.verbs.map((verb) => ({ resource, verb }))));

const CASES: Case[] = [
  ...pairs(CLUSTER_RULES).map(({ resource, verb }) => ({
    resource,
    verb,
    clusterRules: without(CLUSTER_RULES, resource, verb),
    roleRules: ROLE_RULES,
  })),
  ...pairs(ROLE_RULES).map(({ resource, verb }) => ({
    resource,
    verb,
    clusterRules: CLUSTER_RULES,
    roleRules: without(ROLE_RULES, resource, verb),
  })),
];

interface CaseResult {
  key: string;
  seconds?: number;
  step?: string;
  source?: string;
  text?: string;
  error?: string;
}

async function runCase(c: Case): Promise<CaseResult> {
  const t0 = performance.now();
  const key = `${c.resource} ${c.verb}`;
  const id = await identity(
    `rbac-${c.resource.replace(/[^a-z]+/g, "-")}-${c.verb}`.slice(0, 40),
    c.clusterRules,
    c.roleRules,
  );
  // The Forbidden answer of the API server names both, e.g. `cannot list resource "deployments"`.
  const needle = NEEDLE[key] ?? `cannot ${c.verb} resource "${c.resource}"`;
  let op: OperatorProcess | undefined;
  try {
    op = await startOperator(id.kubeconfig, id.ns);
    const found = async () =>
      (await reports(op!, id.ns)).find((r) => r.text.includes(needle) && /forbidden/i.test(r.text));
    const r = await runScenario(id.ns, op, found);
    if (!r.found) return { key, error: `verb too many: ${key} (the whole scenario passed without it)` };
    const step = STEPS[r.step];
    const seconds = Math.round(performance.now() - t0) / 1000;
    // The text around the needle: what the table shows.
    const at = Math.max(0, r.found.text.indexOf(needle) - 60);
    const text = `${at ? "…" : ""}${r.found.text.slice(at, at + 200)}`;
    const result = { key, seconds, step, source: r.found.source, text };
    if (!TIMER_DRIVEN.has(key) && r.step > STEPS.indexOf(NEEDED_AT[key])) {
      return {
        ...result,
        error: `reported at "${step}", later than where it is needed ("${NEEDED_AT[key]}")`,
      };
    }
    const health = await op.http("/healthz");
    if (health.status !== 200) return { ...result, error: `/healthz ${health.status}` };
    return result;
  } catch (err) {
    const logs = op ? (await op.logs()).slice(-4000) : "(not started)";
    return {
      key,
      error: `${
        (err as Error).message
      } (no Forbidden naming ${needle})\n--- operator log ---\n${logs}\n${await clusterDiagnostics(
        id.ns,
      )}`,
    };
  } finally {
    await op?.stop();
    await id.cleanup();
  }
}

Deno.test("without any one verb of any rule the operator reports Forbidden naming the verb and resource, and keeps running", async () => {
  assertEquals(
    CASES.map((c) => `${c.resource} ${c.verb}`).sort(),
    Object.keys(NEEDED_AT).sort(),
    "every (resource, verb) of deploy/rbac.yaml has a case, and NEEDED_AT names no other",
  );
  assert(CASES.every((c) => !c.resource.includes("*") && c.verb !== "*"), "no wildcards");
  const t0 = performance.now();
  const results: CaseResult[] = [];
  const queue = [...CASES];
  // A few at a time: each case is an operator process and a namespace.
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) results.push(await runCase(c));
  }));
  const order = (r: CaseResult) => Object.keys(NEEDED_AT).indexOf(r.key);
  console.error(`  ${CASES.length} cases in ${Math.round((performance.now() - t0) / 1000)} s`);
  for (const r of results.sort((a, b) => order(a) - order(b))) {
    console.error(
      `  ${r.key.padEnd(30)} ${
        r.source ? `${String(r.seconds).padStart(6)} s ${r.step!.padEnd(22)} ${r.source}: ${r.text}` : ""
      }${r.error ? ` FAILED: ${r.error.split("\n")[0]}` : ""}`,
    );
  }
  const failed = results.filter((r) => r.error);
  assert(failed.length === 0, failed.map((f) => `${f.key}: ${f.error}`).join("\n\n"));
});

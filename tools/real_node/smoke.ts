/**
 * Smoke check of a cluster's real node: a MariaDB Deployment (password from a Secret, hostPath PV/PVC, exec
 * readiness probe) and a Job that connects to its Service's ClusterIP with the mysql client, writes and reads a
 * row and reports through its termination message; then logs and exec through the API server.
 *
 *   deno run -A tools/real_node/smoke.ts --kubeconfig K --context C [--kubectl PATH] [--keep]
 *
 * Exits non-zero with the reason when any step fails; prints the timings of each step.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { parseArgs } from "node:util";
import { cacheRoot } from "../images/cache.ts";
import { run } from "./host.ts";
import { ensureMariadbImage, NODE_NAME, REAL_NODE_LABEL } from "./mod.ts";

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    context: { type: "string" },
    kubectl: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
if (!args.kubeconfig || !args.context) {
  console.error("usage: smoke.ts --kubeconfig FILE --context NAME [--kubectl PATH] [--keep]");
  Deno.exit(2);
}
const kubeconfig = args.kubeconfig;
const context = args.context;

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
kc.setCurrentContext(context);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);

const started = Date.now();
const secs = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value, with a deadline; `what` names the wait in the error. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    await sleep(200);
  }
}

const suffix = crypto.randomUUID().slice(0, 6);
const ns = `real-node-smoke-${suffix}`;
const pvName = `${ns}-pv`;
const hostPath = `/tmp/hostpath_pv/${pvName}`;
// Quotes, `$`, spaces, a backslash and a newline: the entry point and the Job must pass it through untouched.
const password = `s'm"o$k e\\\`x\n2`;
const labels = { app: "smoke-mysql" };

/** The Job's script: constant text; every value comes from the environment. */
const JOB_SCRIPT = `set -eu
export MYSQL_PWD="$MYSQL_PASSWORD"
q() { mysql -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root --batch --skip-column-names "$MYSQL_DATABASE" -e "$1"; }
q "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v VARCHAR(20))"
q "REPLACE INTO t VALUES (1, 'hello')"
v=$(q "SELECT v FROM t WHERE id = 1")
mysqldump -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root --single-transaction "$MYSQL_DATABASE" | gzip > /tmp/d.sql.gz
sum=$(sha256sum /tmp/d.sql.gz | cut -d' ' -f1)
mysqladmin -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root ping >/dev/null
printf '{"result":"Ok","value":"%s","sha256":"%s"}\\n' "$v" "$sum" | tee /dev/termination-log
`;

async function cleanup(): Promise<void> {
  await core.deleteNamespace({ name: ns }).catch(() => {});
  await until(`namespace ${ns} to go`, 120_000, async () => {
    try {
      await core.readNamespace({ name: ns });
      return undefined;
    } catch {
      return true;
    }
  }).catch((e) => console.error(`smoke: ${e.message}`));
  await core.deletePersistentVolume({ name: pvName }).catch(() => {});
  await run("rm", ["-rf", "--one-file-system", hostPath], { check: false });
}

async function main(): Promise<void> {
  let t = Date.now();
  const { image } = await ensureMariadbImage();
  console.log(`smoke: image ${image} ready in ${secs(t)}`);

  const node = await core.readNode({ name: NODE_NAME });
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
  if (ready !== "True") throw new Error(`node ${NODE_NAME} is not Ready (${ready})`);
  const nodeSelector = { [REAL_NODE_LABEL]: "true" };

  await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: "smoke-pw" }, stringData: { password } },
  });
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        hostPath: { path: hostPath, type: "DirectoryOrCreate" },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: "smoke-pvc" },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "",
        volumeName: pvName,
        resources: { requests: { storage: "1Gi" } },
      },
    },
  });
  const pwEnv = (envName: string): k8s.V1EnvVar => ({
    name: envName,
    valueFrom: { secretKeyRef: { name: "smoke-pw", key: "password" } },
  });
  await core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: "smoke-mysql" },
      spec: { type: "ClusterIP", selector: labels, ports: [{ name: "mysql", port: 3306, targetPort: 3306 }] },
    },
  });
  t = Date.now();
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: "smoke-mysql", labels },
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector,
            containers: [{
              name: "mysql",
              image,
              imagePullPolicy: "Never",
              env: [pwEnv("MYSQL_ROOT_PASSWORD"), { name: "MYSQL_DATABASE", value: "smoke" }],
              ports: [{ name: "mysql", containerPort: 3306 }],
              readinessProbe: {
                exec: { command: ["mysqladmin", "ping", "-h", "127.0.0.1"] },
                periodSeconds: 1,
                timeoutSeconds: 5,
              },
              volumeMounts: [{ name: "data", mountPath: "/var/lib/mysql", subPath: "data" }],
            }],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: "smoke-pvc" } }],
          },
        },
      },
    },
  });
  await until("the Deployment to be available", 180_000, async () => {
    const d = await apps.readNamespacedDeployment({ name: "smoke-mysql", namespace: ns });
    return (d.status?.readyReplicas ?? 0) >= 1 ? true : undefined;
  });
  console.log(`smoke: MariaDB Deployment Ready in ${secs(t)}`);

  const svc = await core.readNamespacedService({ name: "smoke-mysql", namespace: ns });
  const clusterIp = svc.spec?.clusterIP;
  if (!clusterIp) throw new Error("the Service has no ClusterIP");
  t = Date.now();
  await batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: { name: "smoke-client" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            nodeSelector,
            restartPolicy: "Never",
            containers: [{
              name: "client",
              image,
              imagePullPolicy: "Never",
              command: ["/bin/sh", "-c", JOB_SCRIPT],
              env: [
                { name: "MYSQL_HOST", value: clusterIp },
                { name: "MYSQL_PORT", value: "3306" },
                { name: "MYSQL_DATABASE", value: "smoke" },
                pwEnv("MYSQL_PASSWORD"),
              ],
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
            }],
          },
        },
      },
    },
  });
  const outcome = await until("the Job to finish", 180_000, async () => {
    const j = await batch.readNamespacedJob({ name: "smoke-client", namespace: ns });
    const c = j.status?.conditions?.find((c) =>
      (c.type === "Complete" || c.type === "Failed") && c.status === "True"
    );
    return c?.type;
  });
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=smoke-client" });
  const pod = pods.items[0];
  const message = pod?.status?.containerStatuses?.[0]?.state?.terminated?.message ?? "";
  const log = pod ? await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns }) : "";
  if (outcome !== "Complete") throw new Error(`the Job failed; log:\n${log}`);
  const report = JSON.parse(message);
  if (report.result !== "Ok" || report.value !== "hello" || !/^[0-9a-f]{64}$/.test(report.sha256)) {
    throw new Error(`unexpected Job report: ${message}`);
  }
  if (!log.includes('"result":"Ok"')) {
    throw new Error(`the Job's log (through the kubelet) lacks the report: ${log}`);
  }
  console.log(`smoke: Job through ClusterIP ${clusterIp} Complete in ${secs(t)}: ${message.trim()}`);

  // exec through the API server and the kubelet: the socket-only root login of the entry point.
  const kubectl = args.kubectl ?? `${cacheRoot()}/k8s-v1.34.4/kubectl`;
  const dbPods = await core.listNamespacedPod({ namespace: ns, labelSelector: "app=smoke-mysql" });
  const exec = await run(kubectl, [
    `--kubeconfig=${kubeconfig}`,
    `--context=${context}`,
    "-n",
    ns,
    "exec",
    dbPods.items[0].metadata!.name!,
    "--",
    "mariadb",
    "-uroot",
    "--batch",
    "--skip-column-names",
    "-e",
    "SELECT v FROM smoke.t WHERE id = 1",
  ]);
  if (exec.stdout.trim() !== "hello") throw new Error(`kubectl exec returned ${JSON.stringify(exec.stdout)}`);
  console.log("smoke: kubectl exec into the MariaDB pod works");
}

try {
  await main();
  console.log(`smoke: OK in ${secs(started)}`);
} catch (e) {
  console.error(`smoke: FAILED: ${e instanceof Error ? e.message : e}`);
  if (!args.keep) await cleanup();
  Deno.exit(1);
}
if (!args.keep) await cleanup();

/**
 * A dedicated kwokctl cluster (`mo-real-1`) with the machine's real node joined (real kubelet + containerd +
 * runc, tools/real_node), its fake nodes tainted so every pod without a toleration lands on the real node, and
 * the local MariaDB image imported into the node's containerd. For tests where mysqld must really run.
 *
 * There is one real node per machine (fixed host-wide paths), so every test file that needs real pods shares this
 * cluster: {@link ensureRealNodeCluster} is idempotent, memoised per process, and serialised across processes
 * with a lock file (tools/cluster/lock.ts), so two `deno test` processes may call it at once. It never tears the
 * node down: other test files use it, and CI machines start fresh.
 *
 * @example
 * ```ts
 * const rn = await ensureRealNodeCluster();
 * if ("skip" in rn) console.warn(`SKIPPED: ${rn.skip}`);
 * else console.log(rn.context, rn.nodeName, rn.image);
 * ```
 *
 * @module
 */
import { ensureNamedClusters, kubectl, kubectlWithStdin, waitFor } from "./_clusters.ts";
import { childNames } from "../templates/names.ts";
import { clusterPaths } from "../tools/cluster/paths.ts";
import { withLock } from "../tools/cluster/lock.ts";
import { realNodeOptions, taintFakeNodes } from "../tools/cluster/real_node.ts";
import { ensureMariadbImage, realNodeStatus, realNodeSupport, realNodeUp } from "../tools/real_node/mod.ts";

/** Name of the dedicated real-node cluster. */
export const REAL_NODE_CLUSTER = "mo-real-1";

/** The cluster with its real node, as {@link ensureRealNodeCluster} returns it. */
export interface RealNodeCluster {
  /** Path of the shared kubeconfig (the one of tests/_clusters.ts) holding `context`. */
  kubeconfig: string;
  /** Context of the cluster (`kwok-mo-real-1`). */
  context: string;
  /** kwokctl cluster name (`mo-real-1`). */
  name: string;
  /** Name of the real Node object. */
  nodeName: string;
  /** The local MariaDB image, imported into the node's containerd (use `imagePullPolicy: IfNotPresent`). */
  image: string;
  /** Seconds each step took in this process (for cold/warm timings). */
  timings: Record<string, number>;
}

/** Why the real node cannot run here (a test then ignores itself and prints this). */
export interface RealNodeSkip {
  skip: string;
}

const log = (m: string) => console.error(`[real-node] ${m}`);

let memo: Promise<RealNodeCluster | RealNodeSkip> | undefined;

/**
 * Returns the `mo-real-1` cluster with the real node Ready, creating/starting the cluster, bringing the node up,
 * tainting the fake nodes and building/importing the MariaDB image as needed. Returns `{ skip }` only when the
 * machine cannot run a real node (not Linux, not root, no writable cgroups, ...). Throws when it could but
 * something failed, e.g. when the machine's real node belongs to another cluster (`deno task cluster up
 * --real-node` joins it to the demo cluster): take that one down first.
 */
export function ensureRealNodeCluster(): Promise<RealNodeCluster | RealNodeSkip> {
  memo ??= bringUp().catch((err) => {
    memo = undefined; // a later call may try again
    throw err;
  });
  return memo;
}

async function bringUp(): Promise<RealNodeCluster | RealNodeSkip> {
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings[step] = Math.round(performance.now() - t0) / 1000;
    }
  };
  // Checked before any cluster is made: on a machine without support nothing is left behind.
  const support = await timed("support", () => realNodeSupport());
  if (!support.ok) return { skip: support.reason };

  const clusters = await timed("cluster", () => ensureNamedClusters([REAL_NODE_CLUSTER]));
  const paths = await clusterPaths();
  const opts = realNodeOptions(paths, REAL_NODE_CLUSTER);
  // Separate from the cluster lock (paths.lock), which ensureNamedClusters takes itself and is not re-entrant.
  const lock = `${paths.cache}/real-node.lock`;
  const result = await withLock(lock, async () => {
    const before = await realNodeStatus(opts).catch(() => undefined);
    const { nodeName } = await timed("node", async () => {
      try {
        return await realNodeUp(opts);
      } catch (err) {
        throw new Error(
          `bringing the real node up on cluster ${REAL_NODE_CLUSTER} failed: ${
            err instanceof Error ? err.message : err
          }`,
          { cause: err },
        );
      }
    });
    if (!before?.running) log(`node ${nodeName} up on ${REAL_NODE_CLUSTER} in ${timings.node} s`);
    await timed("taint", () => taintFakeNodes(paths, REAL_NODE_CLUSTER));
    // Built once (~1 min cold), then imported into containerd when it is not there yet.
    const { image } = await timed("image", () => ensureMariadbImage());
    return { nodeName, image };
  }, {
    purpose: `real node on ${REAL_NODE_CLUSTER}`,
    onWait: (h) => log(`waiting for another process${h ? ` (pid ${h.pid}: ${h.purpose})` : ""}`),
  });
  log(`ready: ${JSON.stringify(timings)}`);
  return {
    kubeconfig: clusters.kubeconfig,
    context: clusters.contexts[0],
    name: REAL_NODE_CLUSTER,
    nodeName: result.nodeName,
    image: result.image,
    timings,
  };
}

/** Installs the CRD of deploy/crd.yaml into `context` and waits until it is served. */
export async function installCRD(context: string): Promise<void> {
  const crd = await Deno.readTextFile(new URL("../deploy/crd.yaml", import.meta.url));
  await kubectlWithStdin(context, crd, "apply", "--server-side", "--force-conflicts", "-f", "-");
  await kubectl(context, "wait", "--for=condition=Established", "crd/mysqls.otus.homework", "--timeout=60s");
}

/**
 * SQL as root over the unix socket of the mysqld pod of Deployment `deployment` (root@localhost uses unix_socket
 * auth: no password), in `database`; the statements go on stdin. Tab-separated rows, no column names.
 */
export function socketSql(
  context: string,
  namespace: string,
  deployment: string,
  database: string,
  statements: string,
): Promise<string> {
  return kubectlWithStdin(
    context,
    statements,
    "exec",
    "-i",
    "-n",
    namespace,
    `deploy/${deployment}`,
    "-c",
    "mysql",
    "--",
    "mariadb",
    "--protocol=socket",
    "-u",
    "root",
    "--batch",
    "--skip-column-names",
    database,
  );
}

/**
 * Waits until a Service's ClusterIP reaches a serving pod from the node. kube-proxy programs its rules a moment
 * after the pod turns Ready, and a Job that connects in that moment fails with `ConnectionFailed`; a restore is
 * retried, a requested backup is not. This host is the node, so kube-proxy's rules apply to its connections too.
 */
export async function waitServiceRoutes(ip: string, port = 3306, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the Service ${ip}:${port} to reach its pod from the node`,
    async () => {
      const probe = await new Deno.Command("timeout", {
        args: ["2", "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', ip, String(port)],
        stdout: "null",
        stderr: "null",
      }).output();
      return probe.success;
    },
    timeoutMs,
    500,
  );
}

/** The node directory under which the operator (with its default --hostpath-root) makes hostPath volumes. */
export const HOSTPATH_ROOT = "/tmp/hostpath_pv";

/**
 * Deletes a test namespace's PVs (the backup volume outlives everything by design) and the host folders of the
 * volumes the test made for instance `name`: those of PVs still there, and the data folders of its incarnations
 * `uids` (the operator deletes a data PV after the final backup, but a hostPath folder stays on the node).
 */
export async function removeTestVolumes(
  rn: RealNodeCluster,
  namespace: string,
  name: string,
  uids: string[],
): Promise<void> {
  if (!namespace) return;
  const pvs = JSON.parse(
    await kubectl(rn.context, "get", "pv", "-l", `otus.homework/namespace=${namespace}`, "-o", "json"),
  ).items as Array<{ metadata: { name: string } }>;
  if (pvs.length) {
    // --ignore-not-found: a data PV the operator is deleting (after its final backup) can go between the list and
    // this delete.
    await kubectl(
      rn.context,
      "delete",
      "pv",
      ...pvs.map((p) => p.metadata.name),
      "--ignore-not-found",
      "--wait=false",
    );
  }
  const names = new Set(pvs.map((p) => p.metadata.name));
  names.add(childNames({ namespace, name }).backupPV);
  for (const uid of uids) names.add(childNames({ namespace, name, uid }).dataPV);
  for (const pv of names) {
    // Only the operator's folders of this test's objects (their names carry a hash of the namespace).
    if (/^mysql-[a-z0-9-]+$/.test(pv)) {
      await Deno.remove(`${HOSTPATH_ROOT}/${pv}`, { recursive: true }).catch(() => {});
    }
  }
}

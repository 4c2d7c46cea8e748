/**
 * The operator in the cluster for real: `kubectl apply -k` of deploy/ (through the test-only overlay
 * tests/fixtures/in-cluster, which explains what it changes and why) on the local real-node cluster
 * (tests/_real_node.ts), with the image assembled locally from the same entry point, permission flags and pinned
 * Deno (tools/images/operator/build.ts). Two replicas, one Lease: only the leader reconciles; the course scenario
 * (create → Ready → backup now → delete with the final backup) runs against real mysqld pods and real backup Jobs;
 * deleting the leader pod hands the cluster over within the lease duration.
 *
 * Skipped, with the reason printed, only where a real node cannot run (not Linux, not root, no cgroups).
 *
 * @module
 */
import { relative } from "node:path";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { dropFinalizers, kubectl, waitFor } from "./_clusters.ts";
import { getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { samples, scrape, total } from "./_metrics.ts";
import {
  ensureRealNodeCluster,
  type RealNodeCluster,
  removeTestVolumes,
  waitServiceRoutes,
} from "./_real_node.ts";
import { loadKubeconfig } from "../runtime/kube/config.ts";
import { ensureOperatorImage, OPERATOR_REPO } from "../tools/images/operator/build.ts";
import { ANNOTATIONS, FINALIZER } from "../api/mysql.ts";
import { childNames } from "../templates/names.ts";
import { POD_GATEWAY } from "../tools/real_node/paths.ts";
import { ensureBridge } from "../tools/real_node/cni.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OVERLAY = `${ROOT}tests/fixtures/in-cluster`;
/** Fixed by the overlay: the namespace the in-cluster operator serves, and where the pods reach the API server. */
const NS = "mo-in-cluster";
const GATEWAY = { hostname: POD_GATEWAY, port: 16443 };
const OPERATOR_NS = "mysql-operator";
const LEASE_SECONDS = 15;
const NAME = "shop";

const rn = await ensureRealNodeCluster();
if ("skip" in rn) {
  console.warn(`SKIPPED tests/in_cluster_test.ts: ${rn.skip}`);
  Deno.test({ name: `in-cluster: operator as pods (skipped: ${rn.skip})`, ignore: true, fn() {} });
} else {
  registerTests(rn);
}

/** A TCP pass-through (TLS untouched) from the pod bridge's gateway to the API server on 127.0.0.1. */
function startGatewayProxy(target: { hostname: string; port: number }) {
  const listener = Deno.listen(GATEWAY);
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const down of listener) {
      let up: Deno.Conn;
      try {
        up = await Deno.connect(target);
      } catch {
        down.close();
        continue;
      }
      conns.add(down);
      conns.add(up);
      const close = () => {
        for (const c of [down, up]) {
          conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        }
      };
      Promise.all([
        down.readable.pipeTo(up.writable).catch(() => {}),
        up.readable.pipeTo(down.writable).catch(() => {}),
      ]).finally(close);
    }
  })().catch(() => {});
  return {
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await serving;
    },
  };
}

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName: string; containers: Array<{ image: string }> };
  status: {
    podIP?: string;
    phase: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ ready: boolean; restartCount: number }>;
  };
}

function registerTests(rn: RealNodeCluster): void {
  const ctx = rn.context;
  const k = (...args: string[]) => kubectl(ctx, ...args);

  async function operatorPods(): Promise<Pod[]> {
    const out = await k(
      "get",
      "pods",
      "-n",
      OPERATOR_NS,
      "-l",
      "app.kubernetes.io/name=mysql-operator",
      "-o",
      "json",
    );
    return (JSON.parse(out).items as Pod[]).filter((p) => !p.metadata.deletionTimestamp);
  }

  const readyPod = (p: Pod) =>
    p.status.phase === "Running" &&
    (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

  async function leaseHolder(): Promise<string> {
    const out = await k("get", "leases", "-n", OPERATOR_NS, "-o", "json");
    const lease =
      (JSON.parse(out).items as Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }>)
        .find((l) => l.metadata.name.startsWith("mysql-operator") && !/-member-\d+$/.test(l.metadata.name));
    return lease?.spec.holderIdentity ?? "";
  }

  /** The pod holding the lease (its identity is `<hostname = pod name>-<pid>-<random>`). */
  async function leaderPod(pods: Pod[]): Promise<Pod | undefined> {
    const holder = await leaseHolder();
    return pods.find((p) => holder.startsWith(`${p.metadata.name}-`));
  }

  const metricsOf = (p: Pod) => scrape(`http://${p.status.podIP}:8080/metrics`);

  /** Removes what a run left: the test namespace (finalizers dropped first: no operator may be serving it). */
  async function resetTestNamespace(uids: string[]): Promise<void> {
    const left = await k("get", "mysql", "-n", NS, "-o", "name", "--ignore-not-found").catch(() => "");
    for (const obj of left.split("\n").filter((l) => l.trim())) {
      await dropFinalizers(ctx, obj, NS).catch(() => {});
    }
    await k("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
    await waitFor(
      `namespace ${NS} to be gone`,
      async () => !(await k("get", "ns", NS, "--ignore-not-found", "-o", "name")).trim(),
      120_000,
      500,
    );
    await removeTestVolumes(rn, NS, NAME, uids);
  }

  /**
   * Removes the operator (not the CRD: other tests' objects in this cluster depend on it) and waits until its
   * namespace is gone: an `apply -k` into a namespace that is still terminating (the previous run's clean-up) would
   * see its pods deleted under it.
   */
  async function removeOperator(): Promise<void> {
    await k("delete", "namespace", OPERATOR_NS, "--ignore-not-found", "--wait=false");
    await k("delete", "clusterrolebinding,clusterrole", "mysql-operator", "--ignore-not-found");
    await waitFor(
      `namespace ${OPERATOR_NS} to be gone`,
      async () => !(await k("get", "ns", OPERATOR_NS, "--ignore-not-found", "-o", "name")).trim(),
      120_000,
      500,
    );
  }

  Deno.test({
    name:
      "in-cluster: apply -k deploy/ runs two operator pods; only the leader reconciles; create → backup → " +
      "delete passes; deleting the leader hands over within the lease duration",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const timings: Record<string, number> = {};
      let t = performance.now();
      const lap = (step: string) => {
        timings[step] = Math.round(performance.now() - t) / 1000;
        t = performance.now();
      };
      const { image } = await ensureOperatorImage();
      lap("image");
      const kc = loadKubeconfig({ path: rn.kubeconfig });
      const server = new URL(kc.getCluster(kc.getContextObject(ctx)!.cluster)!.server);
      // The address exists before anything listens on it (the bridge plugin alone makes it only with a pod).
      await ensureBridge();
      const proxy = startGatewayProxy({ hostname: server.hostname, port: Number(server.port) });
      const uids: string[] = [];
      const overlay = await Deno.makeTempDir({ prefix: "in-cluster-overlay-" });
      try {
        await removeOperator(); // what an earlier run left, still terminating or not
        await resetTestNamespace([]);
        await k("create", "namespace", NS);
        // The test's overlay on top of the fixture: only the image tag, which is the hash of the image's inputs.
        await Deno.writeTextFile(
          `${overlay}/kustomization.yaml`,
          JSON.stringify({
            apiVersion: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: [relative(overlay, OVERLAY)],
            images: [{ name: OPERATOR_REPO, newTag: image.slice(image.lastIndexOf(":") + 1) }],
          }),
        );
        await k("apply", "-k", overlay);
        await k("rollout", "status", "deployment/mysql-operator", "-n", OPERATOR_NS, "--timeout=180s");
        const pods = await waitFor("two Ready operator pods", async () => {
          const ps = (await operatorPods()).filter(readyPod);
          return ps.length === 2 && ps.every((p) => p.spec.containers[0].image === image) ? ps : undefined;
        }, 60_000);
        lap("deploy");
        for (const p of pods) {
          assertEquals(p.spec.nodeName, rn.nodeName, "operator pods run on the real node");
          assertMatch(p.status.podIP ?? "", /^10\.88\./);
        }
        const leader = await waitFor("a leader among the pods", () => leaderPod(pods), LEASE_SECONDS * 2_000);
        const follower = pods.find((p) => p !== leader)!;
        const logs = await k("logs", "-n", OPERATOR_NS, leader.metadata.name);
        const records = logs.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)); // JSON lines only
        assert(
          records.some((r) =>
            r.cluster === "in-cluster" && r.server === `https://kubernetes.default.svc:${GATEWAY.port}`
          ),
          "the leader serves the in-cluster context",
        );
        assert(
          records.some((r) => /acquired lease/.test(r.message)),
          "the leader says it acquired the lease",
        );
        lap("leader");

        // The course scenario, served by the pods.
        await kubectlApply(ctx, {
          apiVersion: "otus.homework/v1",
          kind: "MySQL",
          metadata: { name: NAME, namespace: NS },
          spec: { image: rn.image, database: "shop_db", password: "in-cluster-secret", storage_size: "1Gi" },
        });
        const ready = await waitCondition(ctx, NS, NAME, "Ready", "True", undefined, 240_000);
        uids.push(ready.metadata.uid);
        assert(ready.metadata.finalizers?.includes(FINALIZER));
        lap("ready");
        // The requested backup is the first to connect through the new Service, and it is not retried.
        await waitServiceRoutes(ready.status!.serviceIP!);
        await k("annotate", "mysql", NAME, "-n", NS, `${ANNOTATIONS.backupNow}=1`);
        const backedUp = await waitCondition(
          ctx,
          NS,
          NAME,
          "BackupReady",
          "True",
          "BackupSucceeded",
          120_000,
        );
        assert(backedUp.status?.lastBackupTime, "a backup time is recorded");
        assertMatch(backedUp.status?.lastBackup ?? "", /\.sql/);
        lap("backup");

        const lm = await metricsOf(leader), fm = await metricsOf(follower);
        const inCluster = { cluster: "in-cluster" };
        assert(total(lm, "mysql_operator_reconciles_total", { ...inCluster, result: "success" }) >= 2);
        assertEquals(
          total(fm, "mysql_operator_reconciles_total", inCluster),
          0,
          "the follower reconciles nothing",
        );
        assertEquals(total(lm, "mysql_operator_lease_held", inCluster), 1);
        assertEquals(total(fm, "mysql_operator_lease_held", inCluster), 0);
        assertEquals(
          total(fm, "mysql_operator_cluster_synced", inCluster),
          1,
          "the follower's caches are warm",
        );
        assertEquals(
          total(lm, "mysql_operator_last_successful_backup_timestamp_seconds", {
            ...inCluster,
            namespace: NS,
            name: NAME,
          }),
          Math.floor(Date.parse(backedUp.status!.lastBackupTime!) / 1000),
        );

        // Failover: the leader pod goes; another pod takes the lease within the lease duration. Usually the
        // follower, but the ReplicaSet's replacement pod may win the race for a released lease: either is right.
        const t0 = performance.now();
        await k("delete", "pod", leader.metadata.name, "-n", OPERATOR_NS, "--wait=false");
        const successor = await waitFor(
          `the lease to pass from ${leader.metadata.name} to another pod`,
          async () => {
            const holder = await leaseHolder();
            if (!holder || holder.startsWith(`${leader.metadata.name}-`)) return undefined;
            return (await operatorPods()).find((p) =>
              holder.startsWith(`${p.metadata.name}-`) && p.status.podIP
            );
          },
          LEASE_SECONDS * 1000,
          100,
        );
        timings.handover = Math.round(performance.now() - t0) / 1000;
        if (successor.metadata.name !== follower.metadata.name) {
          console.error("the replacement pod took the lease");
        }
        const nm = await metricsOf(successor);
        assertEquals(total(nm, "mysql_operator_lease_held", inCluster), 1, "the new leader says it leads");
        const holders = samples(nm, "mysql_operator_lease_holder_info", inCluster).filter((s) =>
          s.value === 1
        );
        assertEquals(holders.length, 1, `one lease holder: ${JSON.stringify(holders)}`);
        assert(
          holders[0].labels.holder.startsWith(`${successor.metadata.name}-`),
          "the holder is the new leader",
        );
        t = performance.now();

        // Delete: the new leader runs the final backup and lets the object go.
        await k("delete", "mysql", NAME, "-n", NS, "--wait=false");
        await waitFor(
          "the MySQL object to be gone",
          async () => !(await getMySQL(ctx, NS, NAME)),
          180_000,
          500,
        );
        const after = await metricsOf(successor);
        assert(
          total(after, "mysql_operator_reconciles_total", { ...inCluster, result: "success" }) >= 1,
          "the new leader reconciled the deletion",
        );
        const backupPVC = JSON.parse(
          await k("get", "pvc", childNames({ namespace: NS, name: NAME }).backupPVC, "-n", NS, "-o", "json"),
        );
        assert(
          backupPVC.metadata.annotations[ANNOTATIONS.lastBackupTime] > backedUp.status!.lastBackupTime!,
          "the final backup is newer than the manual one",
        );
        lap("delete");
        // The Deployment replaced the deleted pod: two Ready replicas again, one leader.
        await waitFor(
          "two Ready operator pods again",
          async () => (await operatorPods()).filter(readyPod).length === 2,
          120_000,
        );
        console.error(`in-cluster timings (s): ${JSON.stringify(timings)}`);
      } catch (err) {
        for (const p of await operatorPods().catch(() => [] as Pod[])) {
          console.error(
            `--- ${p.metadata.name} ---\n${
              (await k("logs", "-n", OPERATOR_NS, p.metadata.name).catch(String)).slice(-10_000)
            }`,
          );
        }
        console.error(await k("get", "pods", "-A", "-o", "wide").catch(String));
        throw err;
      } finally {
        await resetTestNamespace(uids).catch((e) => console.error(`cleanup of ${NS}: ${e}`));
        await removeOperator().catch((e) => console.error(`removing the operator: ${e}`));
        await proxy.close();
        await Deno.remove(overlay, { recursive: true });
      }
    },
  });
}

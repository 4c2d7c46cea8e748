/**
 * The course demo on a REAL kubelet (project issue 7), done by the operator: real mysqld pods (the local MariaDB
 * image on the real node of tests/_real_node.ts), real mysqldump backup Jobs, real restore Jobs, and the dump
 * files on the node's hostPath. One operator process per test (same entry point and permissions as the binary),
 * serving only the test's namespace.
 *
 * SQL reaches mysqld through `kubectl exec ... mariadb`; the password reaches the client only through a client
 * option file written inside the pod from kubectl's stdin (never a command line), which also proves that the
 * exact password (quote, `$`, spaces, newline) is the one mysqld has.
 *
 * Skipped, with the reason printed, only where a real node cannot run (not Linux, not root, no cgroups).
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { dropFinalizers, freshNamespace, kubectl, kubectlWithStdin, waitFor } from "./_clusters.ts";
import {
  clientFor,
  condition,
  getMySQL,
  kubectlApply,
  recordWatch,
  type Seen,
  waitCondition,
} from "./_k8s.ts";
import { type OperatorProcess, startOperatorProcess } from "./_operator.ts";
import {
  ensureRealNodeCluster,
  HOSTPATH_ROOT,
  installCRD,
  type RealNodeCluster,
  removeTestVolumes,
} from "./_real_node.ts";
import { ANNOTATIONS, FINALIZER, type MySQL } from "../api/mysql.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { selectorLabels } from "../templates/labels.ts";
import { type JobReport, parseJobReport } from "../templates/job_report.ts";

const NAME = "shop";
const DATABASE = "shop_db";
/** A quote, `$`, spaces (one at the end) and a newline, plus a backslash and a double quote. */
const REF_PASSWORD = `it's $HOME "x" \\ y\nsecond line `;
/** The same kinds of characters, different value: for `spec.password`. */
const PLAIN_PASSWORD = `p'w $PATH $(id) "q"\nline two \\n end `;

const rn = await ensureRealNodeCluster();
if ("skip" in rn) {
  console.warn(`SKIPPED tests/real_node_test.ts: ${rn.skip}`);
  Deno.test({ name: `real node: course demo by the operator (skipped: ${rn.skip})`, ignore: true, fn() {} });
} else {
  await installCRD(rn.context);
  registerTests(rn);
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Time of each phase, printed at the end of a test (for the README's cold/warm numbers). */
class Phases {
  readonly started = performance.now();
  readonly list: Array<[string, number]> = [];
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const s = (performance.now() - t0) / 1000;
      this.list.push([name, s]);
      console.error(`[real-node test] ${name}: ${s.toFixed(1)} s`);
    }
  }
  summary(title: string): string {
    const total = (performance.now() - this.started) / 1000;
    return `[real-node test] ${title}: ${total.toFixed(1)} s total\n` +
      this.list.map(([n, s]) => `  ${s.toFixed(1).padStart(6)} s  ${n}`).join("\n");
  }
}

/** A client option file with the password, quoted as the MySQL/MariaDB option-file parser reads it back. */
function optionFile(password: string): string {
  const q = password.replace(
    /[\\"'\n\r\t\b]/g,
    (c) => ({ "\\": "\\\\", '"': '\\"', "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b" })[c]!,
  );
  return `[client]\npassword="${q}"\n`;
}

/**
 * Runs `query` in the mysqld pod with the mariadb client, over TCP as root@'%' with `password` (from an option
 * file made inside the pod from stdin; removed on exit). Constant shell text; the query is an argument.
 */
const TCP_CLIENT = 'f=$(mktemp) && trap \'rm -f "$f"\' EXIT && cat > "$f" && ' +
  'mariadb --defaults-extra-file="$f" --protocol=TCP -h 127.0.0.1 -u root --batch --skip-column-names ' +
  '"$MYSQL_DATABASE" -e "$1"';
/** The same as OS root over the unix socket (root@localhost allows unix_socket): needs no password. */
const SOCKET_CLIENT =
  'exec mariadb --protocol=socket -u root --batch --skip-column-names "$MYSQL_DATABASE" -e "$1"';

function execIn(ctx: string, ns: string, stdin: string | undefined, script: string, arg: string) {
  return kubectlWithStdin(
    ctx,
    stdin,
    "exec",
    ...(stdin === undefined ? [] : ["-i"]),
    "-n",
    ns,
    `deploy/${NAME}`,
    "-c",
    "mysql",
    "--",
    "sh",
    "-c",
    script,
    "sh",
    arg,
  );
}

async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

interface PodSummary {
  name: string;
  node?: string;
  ip?: string;
  exitCode?: number;
  report?: JobReport;
  labels: Record<string, string>;
}

/** The last state of each pod seen by a watch that ran to completion (terminated), filtered by component. */
function finishedPods(seen: Seen[], component: string): PodSummary[] {
  const byName = new Map<string, PodSummary>();
  for (const s of seen) {
    const labels = s.obj.metadata?.labels ?? {};
    if (labels["app.kubernetes.io/component"] !== component) continue;
    const term = s.obj.status?.containerStatuses?.[0]?.state?.terminated;
    if (!term) continue;
    byName.set(s.obj.metadata!.name!, {
      name: s.obj.metadata!.name!,
      node: s.obj.spec?.nodeName,
      ip: s.obj.status?.podIP,
      exitCode: term.exitCode,
      report: parseJobReport(term.message),
      labels,
    });
  }
  return [...byName.values()];
}

/** Runs `fn` with a fresh namespace and an operator serving it; cleans up everything, host directories too. */
async function withOperator(
  rn: RealNodeCluster,
  prefix: string,
  fn: (ns: string, uids: string[]) => Promise<void>,
): Promise<void> {
  const ctx = rn.context;
  const ns = await freshNamespace(ctx, prefix);
  let op: OperatorProcess | undefined;
  const uids: string[] = [];
  try {
    op = await startOperatorProcess([
      "--kubeconfig",
      rn.kubeconfig,
      "--context",
      ctx,
      "--namespace",
      ns.name,
      "--lease-duration-seconds",
      "4",
      "--image-pull-policy",
      "IfNotPresent",
    ]);
    await fn(ns.name, uids);
    const logs = await op.logs();
    for (const pw of [REF_PASSWORD, PLAIN_PASSWORD]) {
      for (const form of [pw, JSON.stringify(pw).slice(1, -1), btoa(pw)]) {
        assert(!logs.includes(form), "a password appeared in the operator's log");
      }
    }
  } catch (err) {
    if (op) console.error(`--- operator log (${prefix}) ---\n${(await op.logs()).slice(-20_000)}`);
    console.error(
      `--- pods ---\n${await kubectl(ctx, "get", "pods", "-n", ns.name, "-o", "wide").catch(String)}`,
    );
    throw err;
  } finally {
    if (op) {
      await cleanup(rn, ns.name, uids, op).catch((e) => console.error(`cleanup of ${ns.name} failed: ${e}`));
    } else await ns.cleanup();
  }
}

/**
 * Deletes what the test made: MySQL objects without a final backup (while the operator still runs), the
 * namespace (and waits for its pods to stop on the real node), the PVs and their directories on the host.
 */
async function cleanup(rn: RealNodeCluster, ns: string, uids: string[], op: OperatorProcess) {
  const ctx = rn.context;
  // The operator stops even when this part fails, so no mysqld of this test keeps running on the shared node.
  try {
    const left = JSON.parse(await kubectl(ctx, "get", "mysql", "-n", ns, "-o", "json")).items as MySQL[];
    for (const m of left) {
      // Each may go meanwhile (a final backup the failed test had started can finish): not found is fine.
      const skip = `${ANNOTATIONS.skipFinalBackup}=true`;
      await kubectl(ctx, "annotate", "mysql", m.metadata.name, "-n", ns, skip, "--overwrite").catch(() => {});
      await kubectl(ctx, "delete", "mysql", m.metadata.name, "-n", ns, "--ignore-not-found", "--wait=false");
    }
    const gone = async () => (await kubectl(ctx, "get", "mysql", "-n", ns, "-o", "name")).trim() === "";
    await waitFor("the test's MySQL objects to be gone", gone, 90_000).catch(async (e) => {
      // The operator is stuck or dead: drop the finalizers so the namespace can go.
      console.error(`cleanup: ${e.message}; removing the finalizers`);
      for (const m of left) {
        await dropFinalizers(ctx, `mysql/${m.metadata.name}`, ns).catch(() => {});
      }
    });
  } finally {
    await op.stop();
  }
  await kubectl(ctx, "delete", "namespace", ns, "--wait=false");
  await waitFor(
    `namespace ${ns} to be gone`,
    async () =>
      (await kubectl(ctx, "get", "namespace", ns, "--ignore-not-found", "-o", "name")).trim() === "",
    120_000,
    500,
  );
  await removeTestVolumes(rn, ns, NAME, uids);
}

// ---------------------------------------------------------------------------------------------------------------
// The tests

function registerTests(rn: RealNodeCluster): void {
  const ctx = rn.context;

  function mysqlObject(ns: string, auth: Partial<MySQL["spec"]>): unknown {
    return {
      apiVersion: "otus.homework/v1",
      kind: "MySQL",
      metadata: { name: NAME, namespace: ns },
      spec: { image: rn.image, database: DATABASE, storage_size: "1Gi", ...auth },
    };
  }

  /** The mysqld pod: exactly one, on the real node, Running and Ready, with a real (bridge) pod IP. */
  async function checkPod(ns: string): Promise<{ name: string; uid: string; ip: string }> {
    const sel = Object.entries(selectorLabels({ namespace: ns, name: NAME })).map(([k, v]) => `${k}=${v}`);
    const pod = await waitFor("one Running and Ready mysqld pod", async () => {
      const pods = JSON.parse(await kubectl(ctx, "get", "pods", "-n", ns, "-l", sel.join(","), "-o", "json"))
        .items;
      const live = pods.filter((p: { metadata: { deletionTimestamp?: string } }) =>
        !p.metadata.deletionTimestamp
      );
      if (live.length !== 1) return undefined;
      const p = live[0];
      const ready = p.status?.conditions?.some((c: { type: string; status: string }) =>
        c.type === "Ready" && c.status === "True"
      );
      return p.status?.phase === "Running" && ready ? p : undefined;
    }, 60_000);
    assertEquals(pod.spec.nodeName, rn.nodeName, "mysqld runs on the real node");
    assertMatch(pod.status.podIP, /^10\.88\./, "a pod IP of the real node's bridge");
    assertEquals(pod.spec.containers[0].image, rn.image);
    assert(pod.status.containerStatuses[0].ready, "the mysqld container is ready");
    return { name: pod.metadata.name, uid: pod.metadata.uid, ip: pod.status.podIP };
  }

  /** Waits for Ready=True and returns the object (with its uid recorded for the cleanup). */
  async function ready(ns: string, uids: string[]): Promise<MySQL> {
    const obj = await waitCondition(ctx, ns, NAME, "Ready", "True", undefined, 240_000);
    uids.push(obj.metadata.uid);
    assertEquals(obj.status?.phase, "Ready");
    assert(obj.metadata.finalizers?.includes(FINALIZER), "finalizer set");
    return obj;
  }

  async function events(ns: string, uid: string) {
    const out = await kubectl(
      ctx,
      "get",
      "events",
      "-n",
      ns,
      "--field-selector",
      `involvedObject.uid=${uid}`,
      "-o",
      "json",
    );
    return (JSON.parse(out).items as { reason: string; message: string; type: string }[]);
  }

  async function exists(kind: string, ns: string | undefined, name: string): Promise<boolean> {
    const args = ["get", kind, name, ...(ns ? ["-n", ns] : []), "--ignore-not-found", "-o", "name"];
    return (await kubectl(ctx, ...args)).trim() !== "";
  }

  async function backupPVCAnnotations(ns: string): Promise<Record<string, string>> {
    const pvc = JSON.parse(
      await kubectl(
        ctx,
        "get",
        "pvc",
        childNames({ namespace: ns, name: NAME }).backupPVC,
        "-n",
        ns,
        "-o",
        "json",
      ),
    );
    return pvc.metadata.annotations ?? {};
  }

  /** The backup file on the node's hostPath (the real node is this machine). */
  async function hostBackupFile(ns: string, file: string): Promise<{ path: string; bytes: Uint8Array }> {
    const pv = childNames({ namespace: ns, name: NAME }).backupPV;
    const hostPath = (await kubectl(ctx, "get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}")).trim();
    assertEquals(hostPath, `${HOSTPATH_ROOT}/${pv}`);
    assertMatch(file, new RegExp(`^${ns}_${NAME}/[^/]+\\.sql$`), "backup file under <ns>_<name>/");
    const path = `${hostPath}/${file}`;
    return { path, bytes: await Deno.readFile(path) };
  }

  /**
   * Deletes the object and proves the final backup: the backup Job's pod ran mysqldump on the real node and
   * succeeded (its report), the Job completed before the data PVC went, the status/event/backup-PVC record it,
   * and the dump file is on the host with the reported sha256. Returns the backup's relative file name.
   */
  async function deleteWithFinalBackup(
    ns: string,
    obj: MySQL,
    expectRows: string[],
  ): Promise<{ file: string; sha256: string }> {
    const client = await clientFor(rn.kubeconfig, ctx);
    const names = childNames({ namespace: ns, name: NAME, uid: obj.metadata.uid });
    const watches = {
      jobs: recordWatch(client, RESOURCES.job, ns),
      pods: recordWatch(client, RESOURCES.pod, ns),
      pvcs: recordWatch(client, RESOURCES.pvc, ns),
      mysqls: recordWatch(client, MYSQL_RESOURCE, ns),
    };
    try {
      // The watches list first: wait until they have, so no change is missed.
      await waitFor(
        "the watches to start",
        () => watches.mysqls.seen.length > 0 && watches.pvcs.seen.length > 0,
      );
      await kubectl(ctx, "delete", "mysql", NAME, "-n", ns, "--wait=false");
      await waitFor(
        "the MySQL object to be gone",
        async () => !(await getMySQL(ctx, ns, NAME)),
        180_000,
        500,
      );
      await waitFor("the data PVC to be gone", async () => !(await exists("pvc", ns, names.dataPVC)), 60_000);
    } finally {
      for (const w of Object.values(watches)) await w.stop();
      client.close();
    }
    // The backup pod: on the real node, exit 0, a BackedUp report.
    const backups = finishedPods(watches.pods.seen, "backup").filter((p) =>
      p.labels["otus.homework/backup-reason"] === "final"
    );
    const ok = backups.filter((p) => p.exitCode === 0);
    assertEquals(ok.length, 1, `one successful final backup pod: ${JSON.stringify(backups)}`);
    const pod = ok[0];
    assertEquals(pod.node, rn.nodeName, "the backup ran on the real node");
    const report = pod.report;
    assert(report?.result === "BackedUp", `backup report: ${JSON.stringify(report)}`);
    // Order (etcd's resourceVersions): the Job completed before the data PVC started going.
    const completed = watches.jobs.seen.find((s) =>
      s.obj.metadata?.name === pod.labels["job-name"] &&
      (s.obj.status?.conditions ?? []).some((c: { type: string; status: string }) =>
        c.type === "Complete" && c.status === "True"
      )
    );
    assert(completed, `the backup Job ${pod.labels["job-name"]} completed`);
    const dataGoing = watches.pvcs.seen.find((s) =>
      s.obj.metadata?.name === names.dataPVC && (s.type === "DELETED" || s.obj.metadata?.deletionTimestamp)
    );
    assert(dataGoing, "the data PVC was deleted");
    assert(
      completed.rv < dataGoing.rv,
      `backup completed (rv ${completed.rv}) before the data PVC went (rv ${dataGoing.rv})`,
    );
    // The status said so while it ran (the pass that records the outcome removes the finalizer, so the object
    // is gone before a status with the result could be written: the event and the backup PVC carry it).
    const states = watches.mysqls.seen.filter((s) => s.obj.metadata?.uid === obj.metadata.uid)
      .map((s) => s.obj as MySQL);
    assert(
      states.some((m) =>
        m.status?.phase === "Deleting" && condition(m, "Ready")?.reason === "FinalBackupRunning"
      ),
      `status showed the running final backup: ${JSON.stringify(states.map((m) => m.status))}`,
    );
    const evs = await events(ns, obj.metadata.uid);
    assert(
      evs.some((e) => e.reason === "BackupSucceeded" && e.message.includes(report.file)),
      `BackupSucceeded event: ${JSON.stringify(evs)}`,
    );
    const ann = await backupPVCAnnotations(ns);
    assertEquals(ann[ANNOTATIONS.lastBackup], report.file);
    assertEquals(ann[ANNOTATIONS.lastBackupTime], report.time);
    // Deleted by the operator; pv-protection lets it go once the claim has (after mysqld's pod stopped).
    await waitFor("the data PV to go", async () => !(await exists("pv", undefined, names.dataPV)), 60_000);
    // The dump on the node's disk: the reported size and sha256, our rows, and the dump's completion marker.
    const { path, bytes } = await hostBackupFile(ns, report.file);
    assertEquals(bytes.length, report.bytes, `size of ${path}`);
    assertEquals(await sha256Hex(bytes), report.sha256, `sha256 of ${path}`);
    const text = new TextDecoder().decode(bytes);
    assertStringIncludes(text, "INSERT INTO `t`");
    for (const row of expectRows) assertStringIncludes(text, row);
    assertMatch(text.trimEnd().split("\n").at(-1)!, /^-- Dump completed/);
    return { file: report.file, sha256: report.sha256 };
  }

  /** Re-creates the object and proves the restore Job loaded `backup` (status and the Job pod's report). */
  async function recreateAndRestore(
    ns: string,
    uids: string[],
    spec: unknown,
    backup: { file: string; sha256: string },
  ) {
    const client = await clientFor(rn.kubeconfig, ctx);
    const pods = recordWatch(client, RESOURCES.pod, ns);
    let obj: MySQL;
    try {
      await kubectlApply(ctx, spec);
      obj = await ready(ns, uids);
    } finally {
      await pods.stop();
      client.close();
    }
    assertEquals(obj.status?.restore?.result, "Restored", JSON.stringify(obj.status?.restore));
    assertEquals(obj.status?.restore?.backup, backup.file);
    assertEquals(condition(obj, "Restored")?.status, "True");
    const restores = finishedPods(pods.seen, "restore");
    // One restore loads the dump. An attempt before it may only have failed to connect: the re-created Service's
    // address can lag the pod's readiness on the node, and such an attempt is retried by design
    // (reconcilers/restore_decision.ts); anything else that failed, or a second load, fails the test.
    const loaded = restores.filter((p) => p.report?.result === "Restored");
    assertEquals(loaded.length, 1, `one restore pod loaded the dump: ${JSON.stringify(restores)}`);
    for (const p of restores.filter((p) => p !== loaded[0])) {
      const r = p.report;
      assert(
        r?.result === "Failed" && r.reason === "ConnectionFailed",
        `an earlier attempt failed only to connect: ${JSON.stringify(p)}`,
      );
    }
    assertEquals(loaded[0].node, rn.nodeName, "the restore ran on the real node");
    assertEquals(loaded[0].exitCode, 0);
    const report = loaded[0].report;
    assert(report?.result === "Restored", `restore report: ${JSON.stringify(report)}`);
    assertEquals(report.backup, backup.file);
    assertEquals(report.sha256, backup.sha256, "the restore loaded the file the backup wrote");
    const evs = await events(ns, obj.metadata.uid);
    assert(evs.some((e) => e.reason === "Restored"), `Restored event: ${JSON.stringify(evs)}`);
    await checkPod(ns);
    return obj;
  }

  Deno.test({
    name: "real node: course demo by the operator — backup on delete, restore on re-create, real data",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const phases = new Phases();
      await withOperator(rn, "realnode", async (ns, uids) => {
        const sqlTcp = (q: string) => execIn(ctx, ns, optionFile(REF_PASSWORD), TCP_CLIENT, q);
        const sqlSocket = (q: string) => execIn(ctx, ns, undefined, SOCKET_CLIENT, q);
        const rowsQuery = "SELECT id, HEX(v) FROM t ORDER BY id";
        const digest = async () => await sha256Hex(await sqlTcp(rowsQuery));
        const ROW1 = "first row";
        const ROW2 = "second 'row' $x";
        const ROW3 = "third row";

        const spec = mysqlObject(ns, { passwordSecretRef: { name: "db-root", key: "root-password" } });
        const first = await phases.run("create → mysqld pod Running and Ready (cold datadir)", async () => {
          await kubectlApply(ctx, {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "db-root", namespace: ns },
            type: "Opaque",
            stringData: { "root-password": REF_PASSWORD },
          });
          await kubectlApply(ctx, spec);
          const obj = await ready(ns, uids);
          assertEquals(obj.status?.restore?.result, "NothingToRestore");
          assertEquals(condition(obj, "CredentialsSecured")?.reason, "SecretReference");
          await checkPod(ns);
          return obj;
        });

        const twoRows = await phases.run(
          "create a table, insert two rows (kubectl exec mariadb)",
          async () => {
            await sqlTcp(
              "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL) ENGINE=InnoDB; " +
                `INSERT INTO t VALUES (1, '${ROW1}'), (2, '${ROW2.replaceAll("'", "''")}')`,
            );
            assertEquals(await sqlTcp("SELECT id, v FROM t ORDER BY id"), `1\t${ROW1}\n2\t${ROW2}\n`);
            return await digest();
          },
        );

        const backup1 = await phases.run(
          "delete → final backup Job (mysqldump) → data gone",
          () => deleteWithFinalBackup(ns, first, [ROW1, ROW2.replaceAll("'", "\\'")]),
        );

        const second = await phases.run(
          "re-create → restore Job loads the dump → Ready",
          () => recreateAndRestore(ns, uids, spec, backup1),
        );
        assertEquals(await digest(), twoRows, "the same two rows after the restore");

        const threeRows = await phases.run("insert a third row", async () => {
          await sqlTcp(`INSERT INTO t VALUES (3, '${ROW3}')`);
          assertEquals((await sqlTcp("SELECT COUNT(*) FROM t")).trim(), "3");
          return await digest();
        });
        const backup2 = await phases.run(
          "delete again → final backup",
          () => deleteWithFinalBackup(ns, second, [ROW1, ROW3]),
        );
        assert(backup2.file !== backup1.file, "a new backup file");
        const third = await phases.run("re-create again → restore → three rows", async () => {
          const obj = await recreateAndRestore(ns, uids, spec, backup2);
          assertEquals(await digest(), threeRows, "the same three rows after the second restore");
          return obj;
        });

        // A final backup that fails for real while mysqld stays available: the server refuses the Job's login
        // (root@'%' locked; the readiness probe is a ping that needs no login, so the Deployment stays
        // available and the operator does start the Job). Data and finalizer must stay; the deletion must
        // finish once the server accepts the backup again.
        await phases.run(
          "a failing final backup keeps data and finalizer; deletion completes once fixed",
          async () => {
            const pod = await checkPod(ns);
            await sqlSocket("ALTER USER 'root'@'%' ACCOUNT LOCK");
            const refused = await sqlTcp("SELECT 1").then(() => "", (e) => String(e));
            assertMatch(refused, /locked/i, "root@'%' is locked");
            const annBefore = await backupPVCAnnotations(ns);
            const client = await clientFor(rn.kubeconfig, ctx);
            const pods = recordWatch(client, RESOURCES.pod, ns);
            let failing: MySQL;
            try {
              await kubectl(ctx, "delete", "mysql", NAME, "-n", ns, "--wait=false");
              failing = await waitCondition(ctx, ns, NAME, "BackupReady", "False", "BackupFailed", 120_000);
            } finally {
              await pods.stop();
              client.close();
            }
            assert(failing.metadata.deletionTimestamp, "still being deleted");
            assert(failing.metadata.finalizers?.includes(FINALIZER), "finalizer kept");
            assertEquals(failing.status?.lastBackupFailure?.reason, "AccessDenied");
            const failedPods = finishedPods(pods.seen, "backup").filter((p) => p.exitCode !== 0);
            assert(
              failedPods.length >= 1,
              `a backup pod failed: ${JSON.stringify(finishedPods(pods.seen, "backup"))}`,
            );
            assertEquals(failedPods[0].node, rn.nodeName);
            assert(
              failedPods[0].report?.result === "Failed" && failedPods[0].report.reason === "AccessDenied",
              `failed backup report: ${JSON.stringify(failedPods[0].report)}`,
            );
            const evs = await events(ns, third.metadata.uid);
            assert(
              evs.some((e) => e.reason === "BackupFailed" && e.type === "Warning"),
              `BackupFailed event: ${JSON.stringify(evs)}`,
            );
            // Nothing went: the claim, the PV, the very same pod with its three rows; the last good backup stands.
            const names = childNames({ namespace: ns, name: NAME, uid: third.metadata.uid });
            assert(await exists("pvc", ns, names.dataPVC), "data PVC kept");
            assert(await exists("pv", undefined, names.dataPV), "data PV kept");
            assertEquals((await checkPod(ns)).uid, pod.uid, "mysqld kept running");
            assertEquals((await sqlSocket("SELECT COUNT(*) FROM t")).trim(), "3");
            assertEquals(
              await backupPVCAnnotations(ns),
              annBefore,
              "the last good backup is still the newest",
            );
            const still = await getMySQL(ctx, ns, NAME);
            assert(still?.metadata.finalizers?.includes(FINALIZER), "the finalizer holds the object");

            // mysqld accepts the backup again: the next attempt (after the operator's backoff) succeeds.
            await sqlSocket("ALTER USER 'root'@'%' ACCOUNT UNLOCK");
            await waitFor(
              "the object to be gone",
              async () => !(await getMySQL(ctx, ns, NAME)),
              180_000,
              500,
            );
            const ann = await backupPVCAnnotations(ns);
            assert(
              ann[ANNOTATIONS.lastBackup] !== annBefore[ANNOTATIONS.lastBackup],
              "a new backup was recorded",
            );
            const { bytes } = await hostBackupFile(ns, ann[ANNOTATIONS.lastBackup]);
            assertStringIncludes(new TextDecoder().decode(bytes), ROW3);
            const evs2 = await events(ns, third.metadata.uid);
            assert(
              evs2.some((e) =>
                e.reason === "BackupSucceeded" && e.message.includes(ann[ANNOTATIONS.lastBackup])
              ),
              `BackupSucceeded after the failure: ${JSON.stringify(evs2)}`,
            );
            await waitFor(
              "the data PV to go (after the backup)",
              async () => !(await exists("pv", undefined, names.dataPV)),
            );
          },
        );
        await phases.run("re-create after the recovered deletion → three rows", async () => {
          await kubectlApply(ctx, spec);
          const obj = await ready(ns, uids);
          assertEquals(obj.status?.restore?.result, "Restored");
          assertEquals(await digest(), threeRows);
        });
      });
      console.error(phases.summary("course demo on the real node"));
    },
  });

  Deno.test({
    name: "real node: spec.password with a quote, $, spaces and a newline works for mysqld and the backup",
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const phases = new Phases();
      await withOperator(rn, "realnode-plain", async (ns, uids) => {
        const sqlTcp = (q: string) => execIn(ctx, ns, optionFile(PLAIN_PASSWORD), TCP_CLIENT, q);
        const spec = mysqlObject(ns, { password: PLAIN_PASSWORD });
        const obj = await phases.run("create with spec.password → Ready", async () => {
          await kubectlApply(ctx, spec);
          const obj = await ready(ns, uids);
          assertEquals(condition(obj, "CredentialsSecured")?.reason, "PlaintextPassword");
          await checkPod(ns);
          return obj;
        });
        // The exact password logs in over TCP; a wrong one does not (the check can fail).
        const wrong = await execIn(ctx, ns, optionFile(PLAIN_PASSWORD.trimEnd()), TCP_CLIENT, "SELECT 1")
          .then(() => "", (e) => String(e));
        assertMatch(wrong, /access denied/i, "a password without the trailing space is refused");
        await sqlTcp(
          "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL); INSERT INTO t VALUES (1, 'plain')",
        );
        const backup = await phases.run(
          "delete → final backup with the password from the owned Secret",
          () => deleteWithFinalBackup(ns, obj, ["plain"]),
        );
        await phases.run("re-create → restored", async () => {
          await recreateAndRestore(ns, uids, spec, backup);
          assertEquals(await sqlTcp("SELECT id, v FROM t"), "1\tplain\n");
        });
        // README "Decisions and limits": a password change in the spec updates the Secret, but an existing
        // datadir keeps its old root password (mysqld reads the environment only on first initialisation), even
        // after mysqld restarts with the new one in its environment.
        await phases.run(
          "change spec.password → Secret updated; the datadir keeps the old password",
          async () => {
            const NEW_PASSWORD = "n3w 'pass' word";
            const before = await checkPod(ns);
            await kubectl(
              ctx,
              "patch",
              "mysql",
              NAME,
              "-n",
              ns,
              "--type=merge",
              "-p",
              JSON.stringify({ spec: { password: NEW_PASSWORD } }),
            );
            const secret = childNames({ namespace: ns, name: NAME }).secret;
            const secretPassword = async () =>
              new TextDecoder().decode(
                Uint8Array.from(
                  atob(
                    JSON.parse(await kubectl(ctx, "get", "secret", secret, "-n", ns, "-o", "json")).data
                      .password,
                  ),
                  (c) => c.charCodeAt(0),
                ),
              );
            await waitFor(
              "the Secret to carry the new password",
              async () => (await secretPassword()) === NEW_PASSWORD,
            );
            await kubectl(ctx, "delete", "pod", before.name, "-n", ns, "--wait=false");
            await waitFor(
              "mysqld restarted in a new pod",
              async () => (await checkPod(ns)).uid !== before.uid,
              120_000,
            );
            assertEquals(await sqlTcp("SELECT v FROM t"), "plain\n", "the old password still logs in");
            const refused = await execIn(ctx, ns, optionFile(NEW_PASSWORD), TCP_CLIENT, "SELECT 1")
              .then(() => "", (e) => String(e));
            assertMatch(
              refused,
              /access denied/i,
              "the new password is refused: the datadir keeps the old one",
            );
          },
        );
      });
      console.error(phases.summary("spec.password on the real node"));
    },
  });
}

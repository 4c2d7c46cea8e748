/**
 * Memory under other people's objects: the child informers select by `app.kubernetes.io/managed-by=mysql-operator`,
 * a label anyone can set. 600 foreign Secrets of 900 KiB carrying it in a watched namespace (540 MB of data) took
 * the operator far above the Deployment's 512Mi limit (deploy/deployment.yaml): a crash loop that stops every
 * cluster. Reproduce: create the Secrets, start the operator on the namespace, read VmHWM of its process once
 * /readyz says the caches synced. Guarantee: the peak RSS stays below {@linkcode BOUND_MIB}, and the operator keeps
 * reconciling: a MySQL created there afterwards gets Ready, and its own Secret, edited by hand, is put back.
 */
import { assert } from "./_assert.ts";
import { freshNamespace, kubectl, waitFor } from "./_clusters.ts";
import { clientFor, clustersWithCRD, courseObject, kubectlApply, waitCondition } from "./_k8s.ts";
import { startOperatorProcess } from "./_operator.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import type { KubeClient } from "../runtime/kube/client.ts";

const SECRETS = 600;
const SECRET_BYTES = 900 * 1024;
/**
 * Peak RSS allowed, in MiB. Measured on this test: before the child-cache projections, a peak of 1716 MiB and no
 * sync ever (a list page of 500 such Secrets is more JSON than a JS string can hold, relisted every few seconds);
 * after, 75-80 MiB, what the operator takes with an empty namespace (foreign Secrets are listed and watched as
 * metadata). Reading the Secrets whole again, even projected right away in pages of 10, measured 275-530 MiB
 * (garbage the GC collects late). 150 MiB is about twice the measured peak, room for GC timing on a busy machine,
 * far below the 512Mi limit, and under every regression measured.
 */
const BOUND_MIB = 150;
/** Secrets created at once: the API server takes one 1.2 MB body in well under a second; more only queue in etcd. */
const CONCURRENCY = 4;

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[2];

/** Peak and current resident set of a process, in MiB (from /proc: the kernel's own high-water mark). */
async function memoryMiB(pid: number): Promise<{ peak: number; now: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { peak: kib("VmHWM") / 1024, now: kib("VmRSS") / 1024 };
}

/** Creates `count` labelled Secrets of random data, a few requests at a time (each body is ~1.2 MB of base64). */
async function createSecrets(client: KubeClient, ns: string, count: number): Promise<void> {
  const bytes = new Uint8Array(SECRET_BYTES);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const blob = btoa(binary);
  const path = collectionPath(RESOURCES.secret, ns);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < count; i = next++) {
      await client.create(path, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: `foreign-${i}`,
          labels: { "app.kubernetes.io/managed-by": "mysql-operator", "app.kubernetes.io/instance": "other" },
          // A foreign annotation of the usual kind (client-side apply leaves one this big on every object).
          annotations: { "example.com/note": "x".repeat(10_000) },
        },
        type: "Opaque",
        data: { blob },
      }, "memory-test");
    }
  }));
}

/** Deletes the Secrets {@linkcode createSecrets} made, a few at a time. */
async function deleteSecrets(client: KubeClient, ns: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < count; i = next++) {
      await client.delete(objectPath(RESOURCES.secret, ns, `foreign-${i}`));
    }
  }));
}

Deno.test(`memory: ${SECRETS} foreign labelled Secrets of 900 KiB keep the operator below ${BOUND_MIB} MiB, and it keeps reconciling`, async () => {
  const ns = await freshNamespace(ctx, "memory");
  const client = await clientFor(kubeconfig, ctx);
  try {
    await createSecrets(client, ns.name, SECRETS);
    const op = await startOperatorProcess([
      "--kubeconfig",
      kubeconfig,
      "--context",
      ctx,
      "--namespace",
      ns.name,
      "--no-leader-elect",
    ]);
    try {
      await waitFor(
        "the operator's caches synced (/readyz)",
        async () => (await op.http("/readyz")).status === 200,
        180_000,
      );
      const synced = await memoryMiB(op.child.pid);
      console.log(`after sync: peak RSS ${synced.peak.toFixed(0)} MiB, RSS ${synced.now.toFixed(0)} MiB`);

      await kubectlApply(ctx, await courseObject(ns.name));
      await waitCondition(ctx, ns.name, "mysql-instance", "Ready", "True");
      // Its own Secret is cached whole (as digests) among the foreign ones: an edit by hand is seen and put back.
      const password = (await courseObject(ns.name)).spec.password!;
      await kubectl(
        ctx,
        "patch",
        "secret",
        "mysql-instance-credentials",
        "-n",
        ns.name,
        "--type=merge",
        "-p",
        JSON.stringify({ data: { password: btoa("edited by hand") } }),
      );
      await waitFor(
        "the password edited by hand put back",
        async () =>
          atob(
            await kubectl(
              ctx,
              "get",
              "secret",
              "mysql-instance-credentials",
              "-n",
              ns.name,
              "-o",
              "jsonpath={.data.password}",
            ),
          ) === password,
        30_000,
      );
      const end = await memoryMiB(op.child.pid);
      console.log(`after Ready: peak RSS ${end.peak.toFixed(0)} MiB, RSS ${end.now.toFixed(0)} MiB`);
      assert(
        end.peak < BOUND_MIB,
        `peak RSS ${
          end.peak.toFixed(0)
        } MiB with ${SECRETS} foreign Secrets of 900 KiB: over ${BOUND_MIB} MiB`,
      );
    } catch (err) {
      const m = await memoryMiB(op.child.pid).catch(() => undefined);
      console.error(
        `--- operator log (peak RSS ${m?.peak.toFixed(0)} MiB) ---\n${(await op.logs()).slice(-20_000)}`,
      );
      throw err;
    } finally {
      await op.stop();
    }
  } finally {
    // One by one, before the namespace goes: etcd should not carry 540 MB until the namespace controller gets to
    // them, and a deletecollection would answer with all of them in one body (more than a JS string can hold).
    await deleteSecrets(client, ns.name, SECRETS).catch((e) =>
      console.error(`deleting the Secrets: ${e.message}`)
    );
    client.close();
    await ns.cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
  }
});

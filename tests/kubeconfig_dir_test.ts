/**
 * Clusters come and go without a restart (`run --kubeconfig-dir DIR`): a running operator serving two clusters from
 * files in DIR starts reconciling a third within seconds of its file appearing, keeps working there when
 * the file's credentials are rotated (the old token revoked), and when the file goes stops watching it and releases
 * its Lease; a broken file is reported in /readyz and changes nothing; the other two are served throughout, each
 * by the same runtime (never restarted). The same through labelled Secrets (`--cluster-secrets-selector`), whose
 * annotation `otus.homework/reconcile: paused` pauses their cluster.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { freshNamespace, kubectl, waitFor } from "./_clusters.ts";
import { clustersWithCRD, courseObject, getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { startOperatorProcess } from "./_operator.ts";
import { leaseNameFor } from "../runtime/lease.ts";
import { parse, stringify } from "yaml";

const { kubeconfig, contexts } = await clustersWithCRD();
const [one, mid, two] = [contexts[0], contexts[1], contexts[2]];

/** A kubeconfig holding only `context`, its certificates inlined (as a user would hand one over). */
async function ownKubeconfig(context: string): Promise<Record<string, unknown>> {
  return parse(await kubectl(context, "config", "view", "--minify", "--flatten", "--context", context));
}

/** A token of a new ServiceAccount allowed everything (a credential that can be revoked by deleting the account). */
async function adminToken(context: string, ns: string, name: string): Promise<string> {
  await kubectl(context, "create", "serviceaccount", name, "-n", ns);
  await kubectl(
    context,
    "create",
    "clusterrolebinding",
    `${ns}-${name}`,
    "--clusterrole=cluster-admin",
    `--serviceaccount=${ns}:${name}`,
  );
  return (await kubectl(context, "create", "token", name, "-n", ns, "--duration=1h")).trim();
}

/** `kc` with its one user authenticating by `token` instead of a client certificate. */
// deno-lint-ignore no-explicit-any
function withToken(kc: any, token: string): Record<string, unknown> {
  return { ...kc, users: [{ name: kc.users[0].name, user: { token } }] };
}

Deno.test("--kubeconfig-dir: a cluster added, re-credentialed and removed while running; the others undisturbed", async () => {
  const ns1 = await freshNamespace(one, "kcdir");
  const nsM = await freshNamespace(mid, "kcdir");
  const ns2 = await freshNamespace(two, "kcdir");
  const dir = await Deno.makeTempDir({ prefix: "mo-kcdir-" });
  const identity = `kcdir-${crypto.randomUUID().slice(0, 8)}`;
  const lease = leaseNameFor("mysql-operator", [ns1.name, nsM.name, ns2.name]);
  const bindings: string[] = [];
  await Deno.writeTextFile(`${dir}/one.yaml`, stringify(await ownKubeconfig(one)));
  await Deno.writeTextFile(`${dir}/mid.yaml`, stringify(await ownKubeconfig(mid)));
  const op = await startOperatorProcess([
    "--kubeconfig-dir",
    dir,
    "--namespace",
    ns1.name,
    "--namespace",
    nsM.name,
    "--namespace",
    ns2.name,
    "--identity",
    identity,
    "--lease-duration-seconds",
    "6",
  ]);
  try {
    const readyz = async () => JSON.parse((await op.http("/readyz")).body);
    const served = async () =>
      ((await readyz()).clusters as Array<{ cluster: string }>).map((c) => c.cluster);
    await kubectlApply(one, await courseObject(ns1.name, {}, "first"));
    await kubectlApply(mid, await courseObject(nsM.name, {}, "first"));
    await waitCondition(one, ns1.name, "first", "Ready", "True");
    await waitCondition(mid, nsM.name, "first", "Ready", "True");

    // Added: a file for a third cluster, authenticating with a token.
    const tokenA = await adminToken(two, ns2.name, "kcdir-a");
    bindings.push(`${ns2.name}-kcdir-a`);
    const kc2 = await ownKubeconfig(two);
    await Deno.writeTextFile(`${dir}/two.yaml`, stringify(withToken(kc2, tokenA)));
    await waitFor("the third cluster served", async () => (await served()).includes(two), 30_000);
    await kubectlApply(two, await courseObject(ns2.name, {}, "second"));
    await waitCondition(two, ns2.name, "second", "Ready", "True");

    // A broken file: reported, nothing else changes, still ready.
    await Deno.writeTextFile(`${dir}/broken.yaml`, "clusters: [oops");
    const withProblem = await waitFor("the broken file reported", async () => {
      const r = await readyz();
      return r.kubeconfigDirProblems?.length ? r : undefined;
    }, 30_000);
    assertStringIncludes(JSON.stringify(withProblem.kubeconfigDirProblems), "broken.yaml");
    assertEquals((await op.http("/readyz")).status, 200, "a broken file does not make the operator unready");
    assertEquals((await served()).sort(), [one, mid, two].sort());

    // Re-credentialed: a new token, the old one's account deleted. Work on the cluster goes on with the new one.
    const tokenB = await adminToken(two, ns2.name, "kcdir-b");
    bindings.push(`${ns2.name}-kcdir-b`);
    await Deno.writeTextFile(`${dir}/two.yaml`, stringify(withToken(kc2, tokenB)));
    await waitFor("the reconnection logged", async () => (await op.logs()).includes("reconnecting"), 30_000);
    await kubectl(two, "delete", "serviceaccount", "kcdir-a", "-n", ns2.name);
    await kubectlApply(two, await courseObject(ns2.name, {}, "third"));
    await waitCondition(two, ns2.name, "third", "Ready", "True");

    // Removed: the cluster's watches stop and its Lease is released; the operator no longer acts there.
    await Deno.remove(`${dir}/two.yaml`);
    await waitFor("the third cluster dropped", async () => !(await served()).includes(two), 30_000);
    // The Lease is released after the cluster leaves /readyz: its passes in flight drain first.
    const holder = () =>
      kubectl(two, "get", "lease", lease, "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}");
    await waitFor(
      `lease ${lease} released after the cluster was removed`,
      async () => (await holder()).trim() === "",
    );
    await kubectlApply(two, await courseObject(ns2.name, {}, "unserved"));

    // The other two were served throughout, each by one runtime.
    await kubectlApply(one, await courseObject(ns1.name, {}, "later"));
    await kubectlApply(mid, await courseObject(nsM.name, {}, "later"));
    await waitCondition(one, ns1.name, "later", "Ready", "True");
    await waitCondition(mid, nsM.name, "later", "Ready", "True");
    const logs = await op.logs();
    assertEquals(
      logs.split(`serving context \\"${mid}\\"`).length - 1,
      1,
      "the second cluster's runtime restarted",
    );
    assertEquals(
      logs.split(`serving context \\"${one}\\"`).length - 1,
      1,
      "the first cluster's runtime restarted",
    );
    assertEquals(
      (await getMySQL(two, ns2.name, "unserved"))?.status,
      undefined,
      "a removed cluster was reconciled",
    );
    assert(!logs.includes('"level":"FATAL"'), "no fatal error");
  } catch (err) {
    console.error(`--- operator log ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    await op.stop();
    for (const b of bindings) await kubectl(two, "delete", "clusterrolebinding", b).catch(() => {});
    await ns1.cleanup();
    await nsM.cleanup();
    await ns2.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--cluster-secrets-selector: a labelled Secret adds a cluster, its annotation pauses and resumes it, its deletion removes it", async () => {
  const nsS = await freshNamespace(one, "kcsec");
  const ns1 = await freshNamespace(one, "kcsec");
  const ns2 = await freshNamespace(two, "kcsec");
  const label = `mo-test/cluster-${crypto.randomUUID().slice(0, 8)}`;
  const op = await startOperatorProcess([
    "--kubeconfig",
    kubeconfig,
    "--context",
    one,
    "--namespace",
    ns1.name,
    "--namespace",
    ns2.name,
    "--cluster-secrets-selector",
    `${label}=true`,
    "--cluster-secrets-namespace",
    nsS.name,
    "--no-leader-elect",
  ]);
  try {
    const health = async () =>
      JSON.parse((await op.http("/readyz")).body).clusters as Array<
        { cluster: string; paused?: boolean; lastContact?: string }
      >;
    const kc = btoa(stringify(await ownKubeconfig(two)));
    await kubectlApply(one, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cluster-two", namespace: nsS.name, labels: { [label]: "true" } },
      data: { kubeconfig: kc },
    });
    await waitFor(
      "the Secret's cluster served",
      async () => (await health()).some((c) => c.cluster === two),
      30_000,
    );
    await kubectlApply(two, await courseObject(ns2.name, {}, "first"));
    await waitCondition(two, ns2.name, "first", "Ready", "True");
    const contact = (await health()).find((c) => c.cluster === two)?.lastContact;
    assert(contact && Date.now() - Date.parse(contact) < 120_000, `last contact ${contact}`);

    // Paused through the Secret: the cluster stays watched, nothing there is reconciled.
    await kubectl(one, "annotate", "secret", "cluster-two", "-n", nsS.name, "otus.homework/reconcile=paused");
    await waitFor(
      "the cluster paused",
      async () => (await health()).find((c) => c.cluster === two)?.paused,
      30_000,
    );
    await kubectlApply(two, await courseObject(ns2.name, {}, "held"));
    // A pass elsewhere proves the operator is working meanwhile.
    await kubectlApply(one, await courseObject(ns1.name, {}, "elsewhere"));
    await waitCondition(one, ns1.name, "elsewhere", "Ready", "True");
    const held = await getMySQL(two, ns2.name, "held");
    assertEquals(
      [held?.status, held?.metadata.finalizers],
      [undefined, undefined],
      "reconciled while paused",
    );

    await kubectl(one, "annotate", "secret", "cluster-two", "-n", nsS.name, "otus.homework/reconcile-");
    await waitCondition(two, ns2.name, "held", "Ready", "True", undefined, 90_000);

    await kubectl(one, "delete", "secret", "cluster-two", "-n", nsS.name);
    await waitFor(
      "the cluster dropped",
      async () => !(await health()).some((c) => c.cluster === two),
      30_000,
    );
  } catch (err) {
    console.error(`--- operator log ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    await op.stop();
    for (const ns of [nsS, ns1, ns2]) await ns.cleanup();
  }
});

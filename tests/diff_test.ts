/**
 * `mysql-operator diff` against live clusters with the operator running, as a user runs it before a sync: the
 * manifest as applied → exit 0, nothing changes; an image change → the Deployment updated and mysqld's restart
 * flagged; a storage increase → said not to be done; a manifest that no longer has the object (`--prune`) → its
 * final backup named, its data deletion flagged, its backups kept; a name held by another app → blocked; and the
 * same report from two clusters that hold the same things. Nothing is changed by any of it.
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { kubectl, removeNamespace } from "./_clusters.ts";
import { clustersWithCRD, courseObject, getMySQL, kubectlApply, waitCondition } from "./_k8s.ts";
import { DENO, startOperatorProcess } from "./_operator.ts";
import { stringify } from "yaml";
import type { MySQL } from "../api/mysql.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const { kubeconfig, contexts } = await clustersWithCRD();
const [a, b] = [contexts[0], contexts[1]];

async function diff(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(DENO, {
    args: ["run", "-A", `${ROOT}main.ts`, "diff", "--kubeconfig", kubeconfig, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** The report of one cluster, without its header (to compare clusters). */
function body(out: string, context: string): string {
  const start = out.indexOf(`== ${context}\n`);
  const end = out.indexOf("\n== ", start + 1);
  return out.slice(start + context.length + 4, end < 0 ? undefined : end).trimEnd();
}

Deno.test("diff: no-op, image change (restart flagged), storage increase (not done), prune (final backup, data deleted), conflict; the same across two clusters", async () => {
  // One namespace name in both clusters, so their reports can be compared line for line.
  const ns = `diff-${crypto.randomUUID().slice(0, 8)}`;
  for (const ctx of [a, b]) await kubectl(ctx, "create", "namespace", ns);
  const dir = await Deno.makeTempDir({ prefix: "mo-diff-" });
  const ops = await Promise.all(
    [a, b].map((ctx) =>
      startOperatorProcess([
        "--kubeconfig",
        kubeconfig,
        "--context",
        ctx,
        "--namespace",
        ns,
        "--no-leader-elect",
      ])
    ),
  );
  try {
    const db = await courseObject(ns, {}, "db");
    const gone = await courseObject(ns, {}, "gone");
    for (const ctx of [a, b]) {
      await kubectlApply(ctx, db);
      await kubectlApply(ctx, gone);
    }
    for (const ctx of [a, b]) {
      await waitCondition(ctx, ns, "db", "Ready", "True");
      await waitCondition(ctx, ns, "gone", "Ready", "True");
    }
    const write = async (name: string, objs: MySQL[]) => {
      await Deno.writeTextFile(`${dir}/${name}`, objs.map((o) => stringify(o)).join("---\n"));
      return `${dir}/${name}`;
    };

    // As applied: nothing to do.
    const same = await diff("-f", await write("same.yaml", [db, gone]), "--context", a, "--context", b);
    assertEquals(same.code, 0, same.out + same.err);
    assertStringIncludes(same.out, `MySQL ${ns}/db: unchanged`);
    assertStringIncludes(same.out, "-- 0 change(s), 0 destructive");

    // Image and storage changed, `gone` left out, pruned.
    const next = { ...db, spec: { ...db.spec, image: "mysql:8.0", storage_size: "2Gi" } };
    const changed = await diff(
      "-f",
      await write("next.yaml", [next]),
      "--context",
      a,
      "--context",
      b,
      "--prune",
    );
    assertEquals(changed.code, 1, changed.out + changed.err);
    const report = body(changed.out, a);
    assertStringIncludes(report, `MySQL ${ns}/db: update (spec.image, spec.storage_size)`);
    assertStringIncludes(report, "Deployment db: update [destructive] — mysqld restarts");
    assertStringIncludes(report, "PersistentVolumeClaim db-data: unchanged — storage 1Gi → 2Gi is not done");
    assertStringIncludes(report, `MySQL ${ns}/gone: delete (not in the manifests: pruned)`);
    assertStringIncludes(
      report,
      `Job final backup: create — the final backup of ${ns}/gone to claim gone-backup`,
    );
    assertStringIncludes(report, "PersistentVolumeClaim gone-data: delete [destructive]");
    assertStringIncludes(report, "PersistentVolumeClaim gone-backup: keep");
    assertEquals(report, body(changed.out, b), "the two clusters' reports differ");

    // Nothing was changed by it.
    for (const ctx of [a, b]) {
      assertEquals((await getMySQL(ctx, ns, "db"))?.spec.image, "mysql:5.7");
      assert(await getMySQL(ctx, ns, "gone"), "pruned for real");
    }

    // Another app's Service holds the name a new instance needs: blocked before anything is applied.
    await kubectlApply(a, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "fresh", namespace: ns },
      spec: { ports: [{ port: 80 }] },
    });
    const fresh = await courseObject(ns, {}, "fresh");
    const blocked = await diff("-f", await write("fresh.yaml", [fresh]), "--context", a);
    assertEquals(blocked.code, 1, blocked.out + blocked.err);
    assertStringIncludes(blocked.out, `MySQL ${ns}/fresh: create`);
    assertStringIncludes(blocked.out, "Service fresh: blocked — the name is held by another app's object");
    assertStringIncludes(blocked.out, "Deployment fresh: create");

    // A manifest the API server refuses is an error (exit 2), with its message.
    const bad = { ...db, spec: { ...db.spec, storage_size: "lots" } };
    const refused = await diff("-f", await write("bad.yaml", [bad]), "--context", a);
    assertEquals(refused.code, 2, refused.out + refused.err);
    assertStringIncludes(refused.out, `MySQL ${ns}/db: rejected by the API server`);
  } finally {
    await Promise.all(ops.map((op) => op.stop()));
    for (const ctx of [a, b]) await removeNamespace(ctx, ns);
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `diff`: before a sync, what applying MySQL manifests (or, without `-f`, what the operator's next pass over the
 * live objects) would do in each selected cluster: the MySQL object itself (a server-side dry-run apply, so the
 * API server's defaults and validation are in it), then each child, from the operator's own rendering, ownership
 * and write decisions (reconcilers/child_plan.ts): created, updated, blocked by another app's object, and the
 * destructive steps flagged (mysqld restarted, data deleted). Exit 0: no change; 1: changes; 2: an error.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { API_VERSION, KIND, type MySQL } from "../api/mysql.ts";
import { ApiError, KubeClient } from "../runtime/kube/client.ts";
import { collectionPath, objectPath } from "../runtime/kube/resources.ts";
import type { ClusterContext } from "../reconcilers/context.ts";
import { observeChildren } from "../reconcilers/observe.ts";
import { type ChildStep, planChildren, planDeletion, renderChildren } from "../reconcilers/child_plan.ts";
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from "../templates/options.ts";
import { DIFF_FLAGS, oneOf, parse, UsageError } from "./args.ts";
import { resolveSelection, selectedTargets } from "./select.ts";
import { HELP } from "./help.ts";

/** The field manager of the dry-run apply (nothing is stored). */
const DRY_RUN_MANAGER = "mysql-operator-diff";

/** MySQL objects of the files and directories given with -f (other kinds are skipped, and counted). */
export async function loadManifests(paths: string[]): Promise<{ objects: MySQL[]; skipped: number }> {
  const files: string[] = [];
  for (const p of paths) {
    if ((await Deno.stat(p)).isDirectory) {
      const inDir: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (e.isFile && /\.(ya?ml|json)$/.test(e.name)) inDir.push(`${p}/${e.name}`);
      }
      files.push(...inDir.sort());
    } else files.push(p);
  }
  const objects: MySQL[] = [];
  let skipped = 0;
  for (const f of files) {
    for (const doc of parseAllDocuments(await Deno.readTextFile(f))) {
      if (doc.errors.length) throw new Error(`${f}: ${doc.errors[0].message}`);
      const o = doc.toJS();
      if (!o) continue;
      if (o.apiVersion === API_VERSION && o.kind === KIND) objects.push(o);
      else skipped++;
    }
  }
  return { objects, skipped };
}

/** The lines about one object, and whether it changes anything. */
export function describe(kind: string, id: string, objectStep: string, steps: ChildStep[]): {
  lines: string[];
  changes: number;
  destructive: number;
} {
  const shown = steps.filter((s) => s.step !== "unchanged" || s.notes.length);
  const changing = steps.filter((s) => s.step !== "unchanged" && s.step !== "keep");
  const lines = [`${kind} ${id}: ${objectStep}`];
  for (const s of shown) {
    const flag = s.destructive ? " [destructive]" : "";
    lines.push(`  ${s.kind} ${s.name}: ${s.step}${flag}${s.notes.length ? ` — ${s.notes.join("; ")}` : ""}`);
  }
  return {
    lines,
    changes: changing.length + (objectStep === "unchanged" ? 0 : 1),
    destructive: steps.filter((s) => s.destructive).length,
  };
}

/** Top-level spec fields that differ (`spec.image`, …). */
function changedFields(live: MySQL, next: MySQL): string[] {
  const keys = new Set([...Object.keys(live.spec ?? {}), ...Object.keys(next.spec ?? {})]);
  const spec = (o: MySQL) => o.spec as unknown as Record<string, unknown>;
  return [...keys].filter((k) => JSON.stringify(spec(live)[k]) !== JSON.stringify(spec(next)[k])).sort()
    .map((k) => `spec.${k}`);
}

const EMPTY_CACHE: ClusterContext["cache"] = {
  mysql: () => undefined,
  child: () => undefined,
  pv: () => undefined,
  pvs: () => [],
  namespaceTerminating: () => false,
  jobs: () => [],
};

/** One cluster's report. */
async function diffCluster(
  client: KubeClient,
  manifests: MySQL[] | undefined,
  opts: { namespaces: string[]; prune: boolean; render: RenderOptions },
): Promise<{ lines: string[]; changes: number; destructive: number; errors: number }> {
  // observeChildren reads through the cache; an empty one makes every read a live GET.
  const ctx = { client, cache: EMPTY_CACHE } as unknown as ClusterContext;
  const out = { lines: [] as string[], changes: 0, destructive: 0, errors: 0 };
  const add = (d: ReturnType<typeof describe>) => {
    out.lines.push(...d.lines);
    out.changes += d.changes;
    out.destructive += d.destructive;
  };
  const plan = async (obj: MySQL) =>
    obj.metadata.deletionTimestamp
      ? planDeletion(obj, await observeChildren(ctx, obj))
      : planChildren(obj, renderChildren(obj, opts.render), await observeChildren(ctx, obj));
  const live = async (namespaces: string[]) => {
    const lists = await Promise.all(
      (namespaces.length ? namespaces : [undefined]).map((ns) =>
        client.list<MySQL>(collectionPath(MYSQL_RESOURCE, ns))
      ),
    );
    return lists.flatMap((l) => l.items);
  };
  if (!manifests) {
    for (const obj of await live(opts.namespaces)) {
      const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
      add(describe("MySQL", id, obj.metadata.deletionTimestamp ? "deleting" : "unchanged", await plan(obj)));
    }
    return out;
  }
  const wanted = new Set<string>();
  for (const m of manifests) {
    const ns = m.metadata?.namespace ?? (opts.namespaces.length === 1 ? opts.namespaces[0] : "default");
    const id = `${ns}/${m.metadata?.name}`;
    wanted.add(id);
    const path = objectPath(MYSQL_RESOURCE, ns, m.metadata?.name);
    let next: MySQL;
    try {
      next = await client.request<MySQL>("PATCH", path, {
        body: { ...m, metadata: { ...m.metadata, namespace: ns } },
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: DRY_RUN_MANAGER, force: true, dryRun: "All" },
      }, "apply");
    } catch (err) {
      if (!(err instanceof ApiError) || err.status === 0) throw err;
      out.lines.push(`MySQL ${id}: rejected by the API server: ${err.message}`);
      out.errors++;
      continue;
    }
    const before = await client.getOrUndefined<MySQL>(path);
    const fields = before ? changedFields(before, next) : [];
    const step = !before ? "create" : fields.length ? `update (${fields.join(", ")})` : "unchanged";
    add(describe("MySQL", id, step, await plan(next)));
  }
  if (opts.prune) {
    const namespaces = [...new Set([...wanted].map((id) => id.split("/")[0]))];
    for (const obj of await live(namespaces)) {
      const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (wanted.has(id)) continue;
      add(
        describe(
          "MySQL",
          id,
          "delete (not in the manifests: pruned)",
          planDeletion(obj, await observeChildren(ctx, obj)),
        ),
      );
    }
  }
  return out;
}

/** Runs `diff`; resolves with the exit code (0 no change, 1 changes, 2 error). */
export async function diffCommand(args: string[]): Promise<number> {
  let f;
  try {
    f = parse(args, DIFF_FLAGS);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`mysql-operator: ${err.message}\nRun 'mysql-operator diff --help' for usage.`);
      return 2;
    }
    throw err;
  }
  if (f.help) {
    console.log(HELP.diff);
    return 0;
  }
  try {
    const manifests = f.filename?.length ? await loadManifests(f.filename) : undefined;
    if (manifests?.skipped) {
      console.error(`diff: ${manifests.skipped} object(s) of other kinds in the files skipped`);
    }
    const selection = resolveSelection(f);
    const targets = selectedTargets(selection);
    // The operator's own render options (its flags of the same names), or diff would report its defaults as drift.
    const pull = f["image-pull-policy"];
    const render: RenderOptions = { ...DEFAULT_RENDER_OPTIONS };
    if (f["hostpath-root"]) render.hostPathRoot = f["hostpath-root"];
    if (pull) {
      render.imagePullPolicy = oneOf<"Always" | "IfNotPresent" | "Never">(
        pull,
        "image-pull-policy",
        ["Always", "IfNotPresent", "Never"],
        "IfNotPresent",
      );
    }
    let changes = 0, errors = 0;
    const reports = await Promise.all(targets.map(async (t) => {
      let client: KubeClient | undefined;
      try {
        client = new KubeClient(await t.connect());
        return {
          name: t.name,
          ...await diffCluster(client, manifests?.objects, {
            namespaces: f.namespace ?? [],
            prune: Boolean(f.prune),
            render,
          }),
        };
      } catch (err) {
        return {
          name: t.name,
          lines: [`error: ${(err as Error).message}`],
          changes: 0,
          destructive: 0,
          errors: 1,
        };
      } finally {
        client?.close();
      }
    }));
    for (const r of reports) {
      console.log(`== ${r.name}`);
      for (const l of r.lines) console.log(l);
      console.log(
        `-- ${r.changes} change(s), ${r.destructive} destructive${r.errors ? `, ${r.errors} error(s)` : ""}`,
      );
      changes += r.changes;
      errors += r.errors;
    }
    return errors ? 2 : changes ? 1 : 0;
  } catch (err) {
    console.error(`mysql-operator diff: ${(err as Error).message}`);
    return 2;
  }
}

/**
 * `migrate --from CTX/NS/NAME --to CTX/NS [--delete-source]`: moves an instance to another cluster or namespace
 * through the object store. The source takes a read-only backup (writes stop for good first, so no acknowledged
 * write is missing from it, and the tables' row counts and sums go into its manifest); a MySQL with the
 * source's spec is created in the target, restoring that backup with `spec.restoreFrom`; its restore Job compares
 * every table with the manifest's sums; then, with `--delete-source`, the source goes through its normal guarded
 * deletion (final backup first). Each step is read back from the objects (cli/migrate_plan.ts decides), so a
 * killed run, run again, continues where it stopped.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { ANNOTATIONS, FIELD_MANAGER, type MySQL } from "../api/mysql.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { intFlag, MIGRATE_FLAGS, parse, UsageError } from "./args.ts";
import { HELP } from "./help.ts";
import { type MigrateRoute, planMigration, sourceId } from "./migrate_plan.ts";
import { selectorLabels } from "../templates/labels.ts";
import { objectRef } from "../templates/mod.ts";

const POLL_MS = 2_000;

/** `--from CTX/NS/NAME --to CTX/NS` as a route; a usage error otherwise. */
export function parseRoute(from: string | undefined, to: string | undefined): MigrateRoute {
  const f = from?.split("/") ?? [], t = to?.split("/") ?? [];
  if (f.length !== 3 || f.some((p) => !p)) throw new UsageError("--from must be CONTEXT/NAMESPACE/NAME");
  if (t.length !== 2 || t.some((p) => !p)) throw new UsageError("--to must be CONTEXT/NAMESPACE");
  if (f[0] === t[0] && f[1] === t[1]) {
    throw new UsageError("--to must differ from the source's context/namespace");
  }
  return { fromContext: f[0], namespace: f[1], name: f[2], toContext: t[0], toNamespace: t[1] };
}

/** Runs `migrate`; resolves with the exit code (0 done, 1 a step failed or the time ran out, 2 usage). */
export async function migrateCommand(args: string[]): Promise<number> {
  const f = parse(args, MIGRATE_FLAGS);
  if (f.help) {
    console.log(HELP.migrate);
    return 0;
  }
  const route = parseRoute(f.from, f.to);
  const timeoutMs = intFlag(f["timeout-seconds"], "timeout-seconds", 1800) * 1000;
  const kc = loadKubeconfig({ path: f.kubeconfig });
  const from = new KubeClient(await connectionFor(kc, route.fromContext));
  const to = route.toContext === route.fromContext
    ? from
    : new KubeClient(await connectionFor(kc, route.toContext));
  const sourcePath = objectPath(MYSQL_RESOURCE, route.namespace, route.name);
  const targetPath = objectPath(MYSQL_RESOURCE, route.toNamespace, route.name);
  const deadline = Date.now() + timeoutMs;
  let said = "";
  const say = (m: string) => {
    if (m !== said) console.log(`migrate: ${m}`);
    said = m;
  };
  const pause = () => new Promise((r) => setTimeout(r, POLL_MS));
  const deleteSource = Boolean(f["delete-source"]);
  try {
    let firstLook = true;
    while (Date.now() < deadline) {
      try {
        const [source, target] = await Promise.all([
          from.getOrUndefined<MySQL>(sourcePath),
          to.getOrUndefined<MySQL>(targetPath),
        ]);
        // Only a deletion needs to know whether the source's mysqld started again since its freeze.
        const sourceStarts = deleteSource && source && target ? await mysqldStarts(from, source) : undefined;
        const a = planMigration({ route, source, target, deleteSource, firstLook, sourceStarts });
        firstLook = false;
        if (a.kind === "fail") {
          console.error(`migrate: error: ${a.message}`);
          return 1;
        }
        say(a.message);
        if (a.kind === "done") return 0;
        if (a.kind === "ask-backup") {
          await from.mergePatch(sourcePath, {
            metadata: { uid: source!.metadata.uid, annotations: { [ANNOTATIONS.migrateBackup]: a.token } },
          }, FIELD_MANAGER);
        } else if (a.kind === "create-target") {
          for (const name of a.secrets) await copySecret(from, to, route, name);
          await ignoreConflict(
            to.create(collectionPath(MYSQL_RESOURCE, route.toNamespace), a.target, FIELD_MANAGER),
          );
        } else if (a.kind === "delete-source") {
          await from.delete(sourcePath, "Background", source!.metadata.uid);
        } else {
          await pause();
        }
      } catch (err) {
        // An API server that does not answer for a while (restart, network) is waited for; every step is read
        // back on the next round, so a write that failed half-way is simply looked at again.
        if (!transient(err)) throw err;
        say(`the API server did not answer (${(err as Error).message}); trying again`);
        await pause();
      }
    }
    console.error(
      `migrate: error: not finished within ${timeoutMs / 1000} s (${said}); run it again to continue`,
    );
    return 1;
  } finally {
    from.close();
    if (to !== from) to.close();
  }
}

/** A create that found the object made already (by a run killed just after its create) is not an error. */
async function ignoreConflict(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
  }
}

/** When the containers named `mysql` of the source's mysqld pods started (running ones). */
async function mysqldStarts(client: KubeClient, source: MySQL): Promise<string[]> {
  const selector = Object.entries(selectorLabels(objectRef(source))).map(([k, v]) => `${k}=${v}`).join(",");
  const pods = await client.list(collectionPath(RESOURCES.pod, source.metadata.namespace), {
    labelSelector: selector,
  });
  return pods.items.flatMap((p) =>
    (p.status?.containerStatuses ?? []).filter((c: { name: string }) => c.name === "mysql")
      .map((c: { state?: { running?: { startedAt?: string } } }) => c.state?.running?.startedAt)
      .filter((t: string | undefined): t is string => Boolean(t))
  );
}

/** A failure worth waiting out: no answer, a server error, or too many requests. */
function transient(err: unknown): boolean {
  const status = (err as { status?: number }).status;
  return status === undefined || status >= 500 || status === 429;
}

/**
 * The target needs the Secrets the spec names (root password, store keys): one missing in the target namespace is
 * copied from the source's (data and type only, marked with the source); one that exists is never written.
 */
async function copySecret(from: KubeClient, to: KubeClient, r: MigrateRoute, name: string): Promise<void> {
  if (await to.getOrUndefined(objectPath(RESOURCES.secret, r.toNamespace, name))) return;
  const secret = await from.getOrUndefined(objectPath(RESOURCES.secret, r.namespace, name));
  if (!secret) throw new Error(`the source's Secret ${r.namespace}/${name} was not found`);
  await ignoreConflict(to.create(collectionPath(RESOURCES.secret, r.toNamespace), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: r.toNamespace, annotations: { [ANNOTATIONS.migratedFrom]: sourceId(r) } },
    type: secret.type,
    data: secret.data,
  }, FIELD_MANAGER));
}

/**
 * `migrate`'s decisions, pure: from what the source and target clusters hold now, the one next step. Every step is
 * read back from the objects (the source's `migrate-backup` annotation and `status.migrateBackup`, the target's
 * `migrated-from` annotation, `spec.restoreFrom` and `status.restore`), so a run that was killed anywhere continues
 * where it stopped when run again. cli/migrate.ts does the I/O; migrate_plan_test.ts is the table of states.
 *
 * @module
 */
import { ANNOTATIONS, API_VERSION, KIND, type MySQL } from "../api/mysql.ts";

/** Where from and where to. */
export interface MigrateRoute {
  fromContext: string;
  namespace: string;
  name: string;
  toContext: string;
  toNamespace: string;
}

/** What the clusters hold now. */
export interface MigrateFacts {
  route: MigrateRoute;
  source?: MySQL;
  target?: MySQL;
  deleteSource: boolean;
  /** The run's first look: a backup that failed before it is asked for again (once per run). */
  firstLook: boolean;
  /** When the source's mysqld containers started (their pods' `state.running.startedAt`). */
  sourceStarts?: string[];
}

/** The next step: `step` names the stage for the progress lines. */
export type MigrateAction =
  | { kind: "fail"; message: string }
  | { kind: "wait"; step: Step; message: string }
  | { kind: "ask-backup"; step: "backup"; token: string; message: string }
  | { kind: "create-target"; step: "target"; target: NewMySQL; secrets: string[]; message: string }
  | { kind: "delete-source"; step: "delete"; message: string }
  | { kind: "done"; message: string };

/** A MySQL object to create (the API server gives it its UID). */
export type NewMySQL = Pick<MySQL, "apiVersion" | "kind" | "spec"> & {
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
};

/** The stages, in order. */
export type Step = "backup" | "target" | "restore" | "delete";

/** `CONTEXT/NAMESPACE/NAME` of the source, as the target's `migrated-from` annotation names it. */
export function sourceId(r: MigrateRoute): string {
  return `${r.fromContext}/${r.namespace}/${r.name}`;
}

/** The attempt number of a `migrate-backup` value of this source incarnation (`<uid>.<n>`), or 0. */
function attemptOf(value: string | undefined, uid: string): number {
  const m = value?.startsWith(`${uid}.`) ? /^\d{1,6}$/.exec(value.slice(uid.length + 1)) : null;
  return m ? Number(m[0]) : 0;
}

/** The next step of the migration. */
export function planMigration(f: MigrateFacts): MigrateAction {
  const id = sourceId(f.route);
  if (f.target) return withTarget(f, f.target, id);
  const src = f.source;
  if (!src) return { kind: "fail", message: `the source ${id} was not found (nothing was changed)` };
  if (src.metadata.deletionTimestamp) {
    return { kind: "fail", message: `the source ${id} is being deleted and there is no target yet` };
  }
  if (!src.spec.backup?.objectStore) {
    return {
      kind: "fail",
      message: `the source ${id} keeps its backups on a backup volume, which another cluster cannot read: ` +
        "give it spec.backup.objectStore (a store both clusters reach) first",
    };
  }
  const uid = src.metadata.uid ?? "";
  const asked = src.metadata.annotations?.[ANNOTATIONS.migrateBackup];
  const n = attemptOf(asked, uid);
  const record = src.status?.migrateBackup;
  const done = n > 0 && record?.token === asked ? record : undefined;
  if (done?.backup) return createTarget(f, src, done.backup);
  const token = `${uid}.${n + 1}`;
  const ask = (why: string): MigrateAction => ({
    kind: "ask-backup",
    step: "backup",
    token,
    message:
      `${why}: asked ${id} for a read-only backup (writes stop for good) with ${ANNOTATIONS.migrateBackup}=${token}`,
  });
  if (n === 0) return ask("no migration backup yet");
  if (done?.failure) {
    const detail = `${done.failure.reason}: ${done.failure.message ?? ""}`;
    if (f.firstLook) return ask(`the last read-only backup failed (${detail}); trying again`);
    return {
      kind: "fail",
      message: `the read-only backup of ${id} failed: ${detail} (run migrate again to retry)`,
    };
  }
  return { kind: "wait", step: "backup", message: `waiting for the read-only backup of ${id} (${asked})` };
}

function createTarget(f: MigrateFacts, src: MySQL, backup: string): MigrateAction {
  const r = f.route;
  // `<bucket>/<prefix…>/<cluster>/<namespace>/<name>/<file>`: the cluster's folder is what restoreFrom names.
  const parts = backup.split("/");
  const [cluster, ns, name, file] = parts.slice(-4);
  if (parts.length < 5 || ns !== r.namespace || name !== r.name || !file?.endsWith(".sql")) {
    return { kind: "fail", message: `the source's migration backup ${backup} is not in its store folder` };
  }
  const { restoreFrom: _, ...spec } = src.spec;
  const target: NewMySQL = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: r.name,
      namespace: r.toNamespace,
      annotations: {
        [ANNOTATIONS.migratedFrom]: sourceId(r),
        [ANNOTATIONS.migratedFromUid]: src.metadata.uid,
      },
    },
    spec: { ...spec, restoreFrom: { cluster, namespace: r.namespace, name: r.name, backup: file } },
  };
  const secrets = [spec.passwordSecretRef?.name, spec.backup?.objectStore?.credentialsSecretRef.name]
    .filter((s): s is string => Boolean(s));
  return {
    kind: "create-target",
    step: "target",
    target,
    secrets: [...new Set(secrets)],
    message: `creating ${r.toContext}/${r.toNamespace}/${r.name}, restoring ${backup}`,
  };
}

function withTarget(f: MigrateFacts, target: MySQL, id: string): MigrateAction {
  const r = f.route;
  const at = `${r.toContext}/${r.toNamespace}/${r.name}`;
  if (target.metadata.annotations?.[ANNOTATIONS.migratedFrom] !== id) {
    return {
      kind: "fail",
      message: `${at} exists and was not made by a migration from ${id}: nothing was changed`,
    };
  }
  const fromUid = target.metadata.annotations?.[ANNOTATIONS.migratedFromUid];
  if (f.source && fromUid !== f.source.metadata.uid) {
    return {
      kind: "fail",
      message:
        `${at} was migrated from an earlier object named ${id}, not the one there now: nothing was changed`,
    };
  }
  const want = target.spec.restoreFrom?.backup;
  const restore = target.status?.restore;
  if (!restore) return { kind: "wait", step: "restore", message: `waiting for ${at} to restore ${want}` };
  if (restore.result === "Failed") {
    return { kind: "fail", message: `the restore into ${at} failed: ${restore.message ?? "see its events"}` };
  }
  if (restore.result !== "Restored" || !want || !restore.backup?.endsWith(`/${want}`)) {
    return {
      kind: "fail",
      message: `${at} did not restore the migration backup ${want}: ${restore.result} ${
        restore.backup ?? ""
      }`,
    };
  }
  const verified =
    `${at} restored ${want}; ${restore.verifiedTables ?? 0} tables match the source's row counts ` +
    "and sums";
  if (!f.deleteSource) return { kind: "done", message: `${verified}; the source stays, read-only` };
  if (!f.source) return { kind: "done", message: `${verified}; the source is deleted` };
  const migrated = f.source.status?.migrateBackup;
  // Only the incarnation whose read-only backup the target restored is deleted, never a later one of that name.
  if (!migrated?.backup?.endsWith(`/${want}`)) {
    return {
      kind: "fail",
      message:
        `${verified}; ${id} is not the object migrated (its migration backup is not ${want}): not deleted`,
    };
  }
  // Every table the backup summed was compared after the load (a target whose operator does not verify says 0).
  if (migrated.tables === undefined || (restore.verifiedTables ?? 0) !== migrated.tables) {
    return {
      kind: "fail",
      message: `${verified}, but the backup summed ${
        migrated.tables ?? "an unknown number of"
      } tables: the source is kept`,
    };
  }
  // A mysqld started after the freeze takes writes again (read_only is not persistent): they are not in the target.
  const restarted = (f.sourceStarts ?? []).filter((t) => Date.parse(t) > Date.parse(migrated.time));
  if (restarted.length) {
    return {
      kind: "fail",
      message:
        `${verified}, but the source's mysqld started again at ${
          restarted.join(", ")
        }, after the read-only ` +
        `backup of ${migrated.time}: it may have taken writes the target lacks; the source is kept`,
    };
  }
  if (f.source.metadata.deletionTimestamp) {
    return {
      kind: "wait",
      step: "delete",
      message: `${verified}; waiting for ${id} to go (its final backup first)`,
    };
  }
  return {
    kind: "delete-source",
    step: "delete",
    message: `${verified}; deleting ${id} (final backup first)`,
  };
}

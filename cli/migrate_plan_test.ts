/** `migrate`'s next step from every state the two clusters can be in (cli/migrate_plan.ts), as a table. */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import { mysqlObject } from "../templates/testing.ts";
import { type MigrateAction, type MigrateFacts, planMigration } from "./migrate_plan.ts";

const UID = "6c0f3c1e-0000-4000-8000-000000000001";
const ROUTE = { fromContext: "east", namespace: "shop", name: "db", toContext: "west", toNamespace: "prod" };
const STORE = {
  endpoint: "https://s3.example",
  bucket: "b",
  prefix: "p",
  credentialsSecretRef: { name: "s3-keys" },
};
const FILE = "b/p/east/shop/db/shop_db-20261204T100000Z-0a0b0c0d0e0f.sql";
/** The source: on the store, with `annotation` and `status`. */
function source(annotation?: string, status: MySQL["status"] = {}, deleting = false): MySQL {
  const o = mysqlObject({
    namespace: "shop",
    name: "db",
    uid: UID,
    spec: { backup: { objectStore: STORE } },
  });
  if (annotation) o.metadata.annotations = { [ANNOTATIONS.migrateBackup]: annotation };
  if (deleting) o.metadata.deletionTimestamp = "2026-12-04T10:00:00Z";
  o.status = status;
  return o;
}
const BACKUP_TIME = "2026-12-04T10:00:00Z";
const backedUp = {
  migrateBackupHandled: `${UID}.1`,
  migrateBackup: { token: `${UID}.1`, backup: FILE, time: BACKUP_TIME, tables: 3 },
  // A scheduled backup recorded after it: the migration still finds its own record.
  lastBackupJob: "db-backup-s1234",
};
const failed = {
  migrateBackupHandled: `${UID}.1`,
  migrateBackup: {
    token: `${UID}.1`,
    time: BACKUP_TIME,
    failure: { reason: "ReadOnlyFailed", message: "no" },
  },
  lastBackupJob: "db-backup-s1234", // a later scheduled backup's: not what tells the failure
};

/** The target as the plan makes it, with `restore`. */
function target(
  restore?: NonNullable<MySQL["status"]>["restore"],
  from = "east/shop/db",
  fromUid = UID,
): MySQL {
  const o = mysqlObject({
    namespace: "prod",
    name: "db",
    spec: {
      backup: { objectStore: STORE },
      restoreFrom: { cluster: "east", namespace: "shop", name: "db", backup: FILE.split("/").at(-1) },
    },
  });
  o.metadata.annotations = { [ANNOTATIONS.migratedFrom]: from, [ANNOTATIONS.migratedFromUid]: fromUid };
  o.status = restore ? { restore } : {};
  return o;
}
const restored = { result: "Restored" as const, backup: FILE, time: "t", verifiedTables: 3 };

const ROWS: Array<[string, Partial<MigrateFacts>, MigrateAction["kind"], RegExp?]> = [
  ["no source: nothing changed", {}, "fail", /not found \(nothing was changed\)/],
  [
    "a source on the backup volume: another cluster cannot read it",
    {
      source: mysqlObject({ namespace: "shop", name: "db", uid: UID }),
    },
    "fail",
    /objectStore/,
  ],
  ["a source being deleted, no target", { source: source(undefined, {}, true) }, "fail", /being deleted/],
  ["first run: ask for the read-only backup", { source: source() }, "ask-backup", new RegExp(`=${UID}\\.1`)],
  [
    "a migrate-backup value of an earlier incarnation is not ours",
    {
      source: source("someone-else.4"),
    },
    "ask-backup",
    new RegExp(`=${UID}\\.1`),
  ],
  ["asked, not done yet: wait", { source: source(`${UID}.1`, { migrateBackupHandled: `${UID}.1` }) }, "wait"],
  [
    "asked, the Job's failure recorded, first look of a run: ask again",
    {
      source: source(`${UID}.1`, failed),
      firstLook: true,
    },
    "ask-backup",
    new RegExp(`=${UID}\\.2`),
  ],
  [
    "asked, the Job failed during this run: stop with the reason",
    {
      source: source(`${UID}.1`, failed),
    },
    "fail",
    /ReadOnlyFailed.*run migrate again/,
  ],
  ["backed up: create the target", { source: source(`${UID}.1`, backedUp) }, "create-target"],
  [
    "a target of that name not made by this migration: never touched",
    {
      source: source(`${UID}.1`, backedUp),
      target: target(undefined, "north/shop/db"),
    },
    "fail",
    /not made by a migration from east\/shop\/db/,
  ],
  ["the target restores: wait", { source: source(`${UID}.1`, backedUp), target: target() }, "wait"],
  [
    "the target's restore failed (a checksum did not match, say): stop",
    {
      source: source(`${UID}.1`, backedUp),
      target: target({ result: "Failed", time: "t", message: "ChecksumMismatch" }),
    },
    "fail",
    /ChecksumMismatch/,
  ],
  [
    "the target restored something else: stop",
    {
      source: source(`${UID}.1`, backedUp),
      target: target({ result: "NothingToRestore", time: "t" }),
    },
    "fail",
    /did not restore/,
  ],
  [
    "restored and verified, the source kept",
    {
      source: source(`${UID}.1`, backedUp),
      target: target(restored),
    },
    "done",
    /3 tables match.*stays, read-only/,
  ],
  ["restored, --delete-source: delete it", {
    source: source(`${UID}.1`, backedUp),
    target: target(restored),
    deleteSource: true,
  }, "delete-source"],
  [
    "the source deleting: wait for it to go",
    {
      source: source(`${UID}.1`, backedUp, true),
      target: target(restored),
      deleteSource: true,
    },
    "wait",
    /final backup/,
  ],
  [
    "the source gone: done (a re-run after the end changes nothing)",
    {
      target: target(restored),
      deleteSource: true,
    },
    "done",
    /deleted/,
  ],
  [
    "a new object of the source's name (not the one migrated) is never deleted",
    {
      source: source(),
      target: target(restored, "east/shop/db", "the-uid-of-an-earlier-object"),
      deleteSource: true,
    },
    "fail",
    /earlier object/,
  ],
  [
    "a new object of the source's name: not reported done either",
    {
      source: source(),
      target: target(restored, "east/shop/db", "the-uid-of-an-earlier-object"),
    },
    "fail",
    /earlier object/,
  ],
  [
    "a new object of the source's name whose migration backup is not the one restored: never deleted",
    {
      source: source(`${UID}.1`, {
        ...backedUp,
        migrateBackup: { ...backedUp.migrateBackup, backup: "b/p/x.sql" },
      }),
      target: target(restored),
      deleteSource: true,
    },
    "fail",
    /not the object migrated/,
  ],
  [
    "the target compared fewer tables than the backup summed (an operator that does not verify): kept",
    {
      source: source(`${UID}.1`, backedUp),
      target: target({ ...restored, verifiedTables: undefined }),
      deleteSource: true,
    },
    "fail",
    /summed 3 tables: the source is kept/,
  ],
  [
    "the source's mysqld started again after the freeze (it may have taken writes): kept",
    {
      source: source(`${UID}.1`, backedUp),
      target: target(restored),
      deleteSource: true,
      sourceStarts: ["2026-12-04T09:00:00Z", "2026-12-04T10:00:05Z"],
    },
    "fail",
    /started again at 2026-12-04T10:00:05Z.*kept/,
  ],
  ["the source's mysqld running since before the freeze: deleted", {
    source: source(`${UID}.1`, backedUp),
    target: target(restored),
    deleteSource: true,
    sourceStarts: ["2026-12-04T09:00:00Z"],
  }, "delete-source"],
];

for (const [name, facts, kind, says] of ROWS) {
  Deno.test(`planMigration: ${name}`, () => {
    const a = planMigration({ route: ROUTE, deleteSource: false, firstLook: false, ...facts });
    equal(a.kind, kind, JSON.stringify(a));
    if (says) ok(says.test(a.message), a.message);
  });
}

Deno.test("planMigration: the target is the source's spec restoring the backup by its store folder, nothing else copied", () => {
  const src = source(`${UID}.1`, backedUp);
  src.metadata.labels = { "app.kubernetes.io/instance": "argo-app" };
  src.metadata.annotations![ANNOTATIONS.backupNow] = "7";
  const a = planMigration({ route: ROUTE, source: src, deleteSource: false, firstLook: false });
  if (a.kind !== "create-target") throw new Error(a.kind);
  deepStrictEqual(a.target.metadata, {
    name: "db",
    namespace: "prod",
    annotations: { [ANNOTATIONS.migratedFrom]: "east/shop/db", [ANNOTATIONS.migratedFromUid]: UID },
  });
  deepStrictEqual(a.target.spec.restoreFrom, {
    cluster: "east",
    namespace: "shop",
    name: "db",
    backup: "shop_db-20261204T100000Z-0a0b0c0d0e0f.sql",
  });
  deepStrictEqual({ ...a.target.spec, restoreFrom: undefined }, { ...src.spec, restoreFrom: undefined });
  deepStrictEqual(a.secrets, ["s3-keys"]);
});

import { assert, assertEquals, assertMatch } from "../../tests/_assert.ts";
import { childNames } from "../../templates/names.ts";
import {
  type ChaosFinal,
  type ChaosHistory,
  checkInvariants,
  dataWithoutBackup,
  duplicateChildren,
  fingerprint,
  type ForeignObject,
  foreignTouched,
  type Incarnation,
  jobsLeftBehind,
  stuckObjects,
  violationCount,
} from "./invariants.ts";

const inc = (over: Partial<Incarnation> = {}): Incarnation => ({
  cluster: "c1",
  namespace: "chaos-a",
  name: "db-1",
  uid: "uid-1",
  finalBackupVerified: false,
  skipFinalBackup: false,
  ...over,
});
const empty = (): ChaosHistory => ({
  incarnations: [],
  volumesDeleted: [],
  children: [],
  foreign: [],
  operatorWrites: [],
});
const settled = (): ChaosFinal => ({ mysqls: [], jobs: [], foreign: [], deletedNamespaces: [] });
const secret: ForeignObject = {
  cluster: "c1",
  resource: "secrets",
  namespace: "chaos-a",
  name: "taken-1-credentials",
  uid: "f-1",
  fingerprint: fingerprint({ metadata: { labels: { app: "theirs" } }, data: { token: "x" } }),
};

Deno.test("dataWithoutBackup: a data volume deleted with no verified final backup of its incarnation is reported", () => {
  const i = inc();
  const h = {
    ...empty(),
    incarnations: [i],
    volumesDeleted: [{ cluster: "c1", name: childNames(i).dataPV }],
  };
  const v = dataWithoutBackup(h);
  assertEquals(v.length, 1);
  assertMatch(v[0], /db-1 \(uid uid-1\) deleted without a verified final backup/);
  // The same deletion after a verified final backup, or with the skip annotation, is what users asked for.
  assertEquals(dataWithoutBackup({ ...h, incarnations: [inc({ finalBackupVerified: true })] }), []);
  assertEquals(dataWithoutBackup({ ...h, incarnations: [inc({ skipFinalBackup: true })] }), []);
  // Another incarnation's backup does not cover this one's data (the volume name carries the UID).
  const other = inc({ uid: "uid-2", finalBackupVerified: true });
  assertEquals(dataWithoutBackup({ ...h, incarnations: [i, other] }).length, 1);
  // In another cluster, a volume of that name is not this incarnation's.
  assertEquals(
    dataWithoutBackup({ ...h, volumesDeleted: [{ cluster: "c2", name: childNames(i).dataPV }] }).length,
    1,
  );
});

Deno.test("dataWithoutBackup: a backup volume deleted at all, or a data volume nobody knows, is reported", () => {
  const i = inc({ finalBackupVerified: true });
  assertMatch(
    dataWithoutBackup({
      ...empty(),
      incarnations: [i],
      volumesDeleted: [{ cluster: "c1", name: childNames(i).backupPV }],
    })[0],
    /a backup volume was deleted/,
  );
  assertMatch(
    dataWithoutBackup({
      ...empty(),
      volumesDeleted: [{ cluster: "c1", name: "mysql-x-data-0123456789" }],
    })[0],
    /no known incarnation/,
  );
  assertEquals(
    dataWithoutBackup({ ...empty(), volumesDeleted: [{ cluster: "c1", name: "someone-elses" }] }),
    [],
  );
});

Deno.test("foreignTouched: an operator write to another app's object, its deletion or a changed label is reported", () => {
  const h = { ...empty(), foreign: [secret] };
  const write = {
    cluster: "c1",
    resource: "secrets",
    namespace: "chaos-a",
    name: secret.name,
    by: "mysql-operator (a)",
  };
  assertEquals(foreignTouched(h, { ...settled(), foreign: [secret] }), []);
  // A refused write (409, 403) changed nothing; a successful one did.
  assertEquals(
    foreignTouched({ ...h, operatorWrites: [{ ...write, verb: "create", code: 409 }] }, {
      ...settled(),
      foreign: [secret],
    }),
    [],
  );
  assertMatch(
    foreignTouched({ ...h, operatorWrites: [{ ...write, verb: "patch", code: 200 }] }, {
      ...settled(),
      foreign: [secret],
    })[0],
    /patch by mysql-operator \(a\) \(200\)/,
  );
  assertMatch(foreignTouched(h, settled())[0], /deleted/);
  assertMatch(foreignTouched(h, { ...settled(), foreign: [{ ...secret, uid: "f-2" }] })[0], /deleted/);
  const relabelled = fingerprint({
    metadata: { labels: { app: "theirs", "app.kubernetes.io/managed-by": "mysql-operator" } },
    data: { token: "x" },
  });
  assertMatch(
    foreignTouched(h, { ...settled(), foreign: [{ ...secret, fingerprint: relabelled }] })[0],
    /changed from/,
  );
  const withPassword = fingerprint({
    metadata: { labels: { app: "theirs" } },
    data: { token: "x", password: "y" },
  });
  assertMatch(
    foreignTouched(h, { ...settled(), foreign: [{ ...secret, fingerprint: withPassword }] })[0],
    /changed from/,
  );
  // What Kubernetes' own controllers add is not a write by anyone the run judges; the operator's annotation is.
  const revised = fingerprint({
    metadata: { labels: { app: "theirs" }, annotations: { "deployment.kubernetes.io/revision": "1" } },
    data: { token: "x" },
  });
  assertEquals(foreignTouched(h, { ...settled(), foreign: [{ ...secret, fingerprint: revised }] }), []);
  const claimed = fingerprint({
    metadata: { labels: { app: "theirs" }, annotations: { "otus.homework/instance": "chaos-a/taken-1" } },
    data: { token: "x" },
  });
  assertMatch(
    foreignTouched(h, { ...settled(), foreign: [{ ...secret, fingerprint: claimed }] })[0],
    /changed from/,
  );
  // Gone with its namespace, which the schedule deleted: not the operator's doing.
  assertEquals(
    foreignTouched(h, { ...settled(), deletedNamespaces: [{ cluster: "c1", namespace: "chaos-a" }] }),
    [],
  );
});

Deno.test("duplicateChildren: two Deployments of one instance, or two backup Jobs running at once, are reported", () => {
  const ev = (
    at: number,
    kind: "Deployment" | "BackupJob",
    name: string,
    state: "active" | "finished" | "gone",
  ) => ({
    cluster: "c1",
    at,
    kind,
    namespace: "chaos-a",
    name,
    ownerUid: "uid-1",
    state,
  });
  // One after the other is fine: a finished Job, then the next.
  assertEquals(
    duplicateChildren({
      ...empty(),
      children: [
        ev(1, "BackupJob", "j1", "active"),
        ev(2, "BackupJob", "j1", "finished"),
        ev(3, "BackupJob", "j2", "active"),
      ],
    }),
    [],
  );
  const v = duplicateChildren({
    ...empty(),
    children: [
      ev(1, "BackupJob", "j1", "active"),
      ev(2, "BackupJob", "j2", "active"),
      ev(3, "BackupJob", "j1", "finished"),
    ],
  });
  assertEquals(v.length, 1);
  assertMatch(v[0], /had 2 BackupJobs at 2 ms: chaos-a\/j1, chaos-a\/j2/);
  // Events arrive from several watches out of order: they are judged in time order.
  assertEquals(
    duplicateChildren({
      ...empty(),
      children: [
        ev(3, "Deployment", "b", "active"),
        ev(1, "Deployment", "a", "active"),
        ev(2, "Deployment", "a", "gone"),
      ],
    }),
    [],
  );
  assertEquals(
    duplicateChildren({
      ...empty(),
      children: [ev(1, "Deployment", "a", "active"), ev(2, "Deployment", "b", "active")],
    }).length,
    1,
  );
});

Deno.test("jobsLeftBehind and stuckObjects: what did not settle is reported, by name", () => {
  const job = {
    cluster: "c1",
    namespace: "chaos-a",
    name: "db-1-backup-f1",
    finished: false,
    ownerExists: true,
  };
  assertEquals(jobsLeftBehind({ ...settled(), jobs: [job] }), []);
  assertMatch(
    jobsLeftBehind({ ...settled(), jobs: [{ ...job, finished: true }] })[0],
    /db-1-backup-f1: finished, still there/,
  );
  assertMatch(
    jobsLeftBehind({ ...settled(), jobs: [{ ...job, ownerExists: false }] })[0],
    /its MySQL is gone/,
  );
  const m = { cluster: "c1", namespace: "chaos-a", name: "db-1", deleting: false, ready: true };
  assertEquals(stuckObjects({ ...settled(), mysqls: [m] }), []);
  assertMatch(
    stuckObjects({
      ...settled(),
      mysqls: [{ ...m, deleting: true, ready: false, why: "FinalBackupFailed" }],
    })[0],
    /still deleting \(FinalBackupFailed\)/,
  );
  assertMatch(stuckObjects({ ...settled(), mysqls: [{ ...m, ready: false }] })[0], /not Ready/);
});

Deno.test("checkInvariants counts every violation of every invariant", () => {
  const i = inc();
  const h = {
    ...empty(),
    incarnations: [i],
    volumesDeleted: [{ cluster: "c1", name: childNames(i).dataPV }],
    foreign: [secret],
  };
  const f = {
    ...settled(),
    mysqls: [{ cluster: "c1", namespace: "chaos-a", name: "db-2", deleting: true, ready: false }],
  };
  const v = checkInvariants(h, f);
  assertEquals(v.dataWithoutBackup.length, 1);
  assertEquals(v.foreignTouched.length, 1);
  assertEquals(v.stuckObjects.length, 1);
  assertEquals(violationCount(v), 3);
  assert(violationCount(checkInvariants(empty(), settled())) === 0);
});

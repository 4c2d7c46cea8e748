/**
 * How a finished backup Job is recorded: success only with the Job's own verified report (and, for a final backup,
 * one taken read-only); everything else is a failure the finalizer retries. A fake client and cache stand in for
 * the cluster (the integration tests run the same code against real API servers).
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import type { MySQL } from "../api/mysql.ts";
import type { KubeClient, KubeObject } from "../runtime/kube/client.ts";
import { backupJobName } from "../templates/names.ts";
import { type BackupReason, objectRef, renderBackupJob } from "../templates/mod.ts";
import { mysqlObject, TEST_HOST } from "../templates/testing.ts";
import { renderBackupPV, renderBackupPVC } from "../templates/volumes.ts";
import { DEFAULT_RENDER_OPTIONS } from "../templates/options.ts";
import { type ClusterCache, type ClusterContext, DEFAULT_RECONCILE_OPTIONS } from "./context.ts";
import { type AfterStatus, settleBackupJobs } from "./backups.ts";
import { readJobReport } from "./jobs.ts";
import { StatusBuilder } from "./status.ts";

const SHA = "d3ef3c1b558da4af72586269d84c9f9c9bf35618bec9f6fca685af6d2c867c08";
const JOB_UID = "11111111-2222-4333-8444-555555555555";
const OTHER_UID = "99999999-2222-4333-8444-555555555555";
const UID_LABEL = "batch.kubernetes.io/controller-uid";
const NOW = new Date("2026-12-02T12:00:00Z");

interface Seen {
  selectors: string[];
  events: Array<{ type: string; reason: string; message: string }>;
  patches: string[];
}

/** A finished backup Job of `reason` as the API server returns it (UID, Complete or Failed condition). */
function finishedJob(obj: MySQL, reason: BackupReason, state: "Complete" | "Failed"): KubeObject {
  const job = renderBackupJob(obj, {
    jobName: backupJobName(objectRef(obj), reason, "0"),
    reason,
    host: TEST_HOST,
  }, DEFAULT_RECONCILE_OPTIONS.render) as KubeObject;
  job.metadata!.uid = JOB_UID;
  job.status = {
    conditions: [{ type: state, status: "True", reason: state === "Failed" ? "BackoffLimitExceeded" : "" }],
  };
  return job;
}

/** A terminated pod with `message`, labelled as made for the Job with `uid`. */
function pod(uid: string, message: string | undefined, finishedAt = "2026-12-02T11:59:00Z"): KubeObject {
  return {
    metadata: { name: `p-${uid.slice(0, 4)}`, labels: { [UID_LABEL]: uid } },
    status: { containerStatuses: [{ state: { terminated: { exitCode: 0, finishedAt, message } } }] },
  };
}

function backedUp(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    jobUid: JOB_UID,
    result: "BackedUp",
    readOnly: true,
    file: "ns_db/ns_db-20261202T115900Z-0123456789ab.sql",
    bytes: 2013,
    sha256: SHA,
    time: "2026-12-02T11:59:00Z",
    ...fields,
  });
}

/**
 * Runs one settle pass over `job` with `pods` listed by the fake API server. The fake ignores label selectors
 * (it returns every pod) so the test sees that readJobReport does not rely on the server's filtering alone.
 */
async function settle(obj: MySQL, job: KubeObject, pods: KubeObject[]) {
  const seen: Seen = { selectors: [], events: [], patches: [] };
  const client = {
    list: (_path: string, opts?: { labelSelector?: string }) => {
      seen.selectors.push(opts?.labelSelector ?? "");
      return Promise.resolve({ items: pods });
    },
    mergePatch: (path: string) => {
      seen.patches.push(path);
      return Promise.resolve({});
    },
    delete: () => Promise.resolve(),
  } as unknown as KubeClient;
  const ctx: ClusterContext = {
    cluster: "test",
    client,
    // Only what settleBackupJobs reads: its Jobs, and the backup claim and volume it marks.
    cache: {
      jobs: () => [job],
      child: () => renderBackupPVC(obj, DEFAULT_RENDER_OPTIONS),
      pv: () => renderBackupPV(obj, DEFAULT_RENDER_OPTIONS),
    } as unknown as ClusterCache,
    log: {} as Logger,
    events: {
      emit: (_o, type, reason, message) => {
        seen.events.push({ type, reason, message });
        return Promise.resolve();
      },
    },
    options: DEFAULT_RECONCILE_OPTIONS,
    now: () => NOW,
  };
  const sb = new StatusBuilder(obj, NOW);
  const after: AfterStatus = [];
  await settleBackupJobs(ctx, obj, sb, after);
  equal(after.length, 1, "the Job is deleted once its outcome is recorded");
  return {
    status: sb.status,
    seen,
    backupReady: sb.status.conditions?.find((c) => c.type === "BackupReady"),
  };
}

const obj = () => mysqlObject({ namespace: "ns", name: "db" });

Deno.test("a final backup with its own report, taken read-only, succeeds and says so", async () => {
  const o = obj();
  const { status, seen, backupReady } = await settle(o, finishedJob(o, "final", "Complete"), [
    pod(JOB_UID, backedUp()),
  ]);
  deepStrictEqual(seen.selectors, [`${UID_LABEL}=${JOB_UID}`], "only this Job's pods are read");
  equal(status.finalBackupTime, "2026-12-02T11:59:00Z");
  equal(status.lastBackup, "ns_db/ns_db-20261202T115900Z-0123456789ab.sql");
  equal(status.lastBackupFailure, undefined);
  equal(backupReady?.status, "True");
  ok(backupReady?.message.includes("taken read-only"), backupReady?.message);
  equal(seen.events.length, 1);
  equal(seen.events[0].reason, "BackupSucceeded");
  ok(seen.events[0].message.includes("taken read-only"), seen.events[0].message);
  equal(seen.patches.length, 2, "the backup claim and its volume are marked");
});

Deno.test("a Job that completed without a verified report is a failed attempt (Unverified), never a backup", async () => {
  const cases: Array<[what: string, pods: KubeObject[], expect: RegExp]> = [
    ["no termination message (a simulated pod)", [pod(JOB_UID, undefined)], /without a verified report/],
    ["no pod at all", [], /without a verified report/],
    ["garbage message", [pod(JOB_UID, "done!")], /without a verified report/],
    [
      "a report naming another Job",
      [pod(JOB_UID, backedUp({ jobUid: OTHER_UID }))],
      /without a verified report/,
    ],
    ["a report without jobUid", [pod(JOB_UID, backedUp({ jobUid: undefined }))], /without a verified report/],
    ["a report without sha256", [pod(JOB_UID, backedUp({ sha256: undefined }))], /without a verified report/],
    // A pod of another Job (e.g. an earlier one of the same name) is never read, even if its report looks right.
    ["the report is on another Job's pod", [pod(OTHER_UID, backedUp())], /without a verified report/],
    [
      "a final backup not taken read-only",
      [pod(JOB_UID, backedUp({ readOnly: false }))],
      /not taken read-only/,
    ],
  ];
  for (const [what, pods, expect] of cases) {
    const o = obj();
    const { status, seen, backupReady } = await settle(o, finishedJob(o, "final", "Complete"), pods);
    equal(status.finalBackupTime, undefined, what);
    equal(status.lastBackupTime, undefined, what);
    equal(status.lastBackupFailure?.reason, "Unverified", what);
    ok(expect.test(status.lastBackupFailure?.message ?? ""), `${what}: ${status.lastBackupFailure?.message}`);
    equal(status.finalBackupAttempts, 1, `${what}: counts as a failed attempt (the finalizer backs off)`);
    equal(backupReady?.status, "False", what);
    deepStrictEqual(seen.events.map((e) => [e.type, e.reason]), [["Warning", "BackupFailed"]], what);
    equal(seen.patches.length, 0, `${what}: the backup claim and volume do not advertise it`);
  }
});

Deno.test("scheduled and manual backups need the verified report but not read-only", async () => {
  for (const reason of ["scheduled", "manual"] as const) {
    const o = obj();
    const ok1 = await settle(o, finishedJob(o, reason, "Complete"), [
      pod(JOB_UID, backedUp({ readOnly: false })),
    ]);
    equal(ok1.backupReady?.status, "True", reason);
    ok(!ok1.backupReady?.message.includes("read-only"), ok1.backupReady?.message);
    equal(ok1.status.finalBackupTime, undefined);
    const bad = await settle(o, finishedJob(o, reason, "Complete"), [pod(JOB_UID, undefined)]);
    equal(bad.status.lastBackupFailure?.reason, "Unverified", reason);
    equal(bad.status.finalBackupAttempts, undefined, "only final backups count attempts");
  }
});

Deno.test("a failed Job reports the script's reason when its report names it, else the Job's", async () => {
  const o = obj();
  const failedReport = JSON.stringify({
    jobUid: JOB_UID,
    result: "Failed",
    reason: "ReadOnlyFailed",
    message: "could not stop writes",
  });
  const mine = await settle(o, finishedJob(o, "final", "Failed"), [pod(JOB_UID, failedReport)]);
  deepStrictEqual(
    [mine.status.lastBackupFailure?.reason, mine.status.lastBackupFailure?.message],
    ["ReadOnlyFailed", "could not stop writes"],
  );
  const stale = await settle(o, finishedJob(o, "final", "Failed"), [
    pod(JOB_UID, failedReport.replace(JOB_UID, OTHER_UID)),
  ]);
  equal(stale.status.lastBackupFailure?.reason, "BackoffLimitExceeded", "another Job's report is not used");
});

Deno.test("readJobReport takes the newest message of this Job's pods, and nothing without a UID", async () => {
  const client = {
    list: () =>
      Promise.resolve({
        items: [
          pod(JOB_UID, backedUp({ file: "old.sql" }), "2026-12-02T11:00:00Z"),
          pod(JOB_UID, backedUp({ file: "new.sql" }), "2026-12-02T11:30:00Z"),
          pod(OTHER_UID, backedUp({ jobUid: OTHER_UID, file: "other.sql" }), "2026-12-02T11:45:00Z"),
        ],
      }),
  } as unknown as KubeClient;
  const report = await readJobReport(client, { metadata: { name: "j", namespace: "ns", uid: JOB_UID } });
  equal(report?.result === "BackedUp" ? report.file : undefined, "new.sql");
  equal(await readJobReport(client, { metadata: { name: "j", namespace: "ns" } }), undefined);
});

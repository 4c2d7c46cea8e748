import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { ANNOTATIONS, type MySQL } from "../api/mysql.ts";
import type { KubeClient, KubeObject } from "../runtime/kube/client.ts";
import type { JobReport, RestoredReport } from "../templates/job_report.ts";
import { renderRestoreJob } from "../templates/mod.ts";
import { DEFAULT_RENDER_OPTIONS } from "../templates/options.ts";
import { mysqlObject, TEST_HOST } from "../templates/testing.ts";
import { renderBackupPVC } from "../templates/volumes.ts";
import type { AfterStatus } from "./backups.ts";
import { type ClusterCache, type ClusterContext, DEFAULT_RECONCILE_OPTIONS } from "./context.ts";
import {
  afterConnectionFailure,
  MAX_RESTORE_ATTEMPTS,
  reconcileRestore,
  type RestoreOutcome,
  restoreOutcome,
  restoreRetryDelayMs,
  UNVERIFIED,
} from "./restore.ts";
import { StatusBuilder } from "./status.ts";

Deno.test("restore retries after a connection failure back off: 10 s doubling, at most 5 minutes", () => {
  deepStrictEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map(restoreRetryDelayMs),
    [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000],
  );
});

Deno.test("what to do after the n-th restore attempt could not connect (table of states)", () => {
  const cases: [
    attempt: number,
    sinceFailedMs: number,
    expected: ReturnType<typeof afterConnectionFailure>,
  ][] = [
    [1, 0, "wait"],
    [1, 9_999, "wait"],
    [1, 10_000, "retry"],
    [2, 19_999, "wait"],
    [2, 20_000, "retry"],
    [7, 299_999, "wait"],
    [7, 300_000, "retry"],
    [MAX_RESTORE_ATTEMPTS, 0, "giveUp"],
    [MAX_RESTORE_ATTEMPTS, 10_000_000, "giveUp"],
    [MAX_RESTORE_ATTEMPTS + 5, 0, "giveUp"],
  ];
  for (const [attempt, since, expected] of cases) {
    equal(
      afterConnectionFailure(attempt, since),
      expected,
      `attempt ${attempt}, ${since} ms after it failed`,
    );
  }
});

Deno.test("the attempts before giving up span about a quarter of an hour, not forever", () => {
  let total = 0;
  for (let a = 1; a < MAX_RESTORE_ATTEMPTS; a++) total += restoreRetryDelayMs(a);
  equal(total, 910_000);
});

// How a finished restore Job is recorded: like a backup, only its own verified report counts. A fake client and
// cache stand in for the cluster (tests/operator_test.ts runs the same code against a real API server).

const SHA = "d3ef3c1b558da4af72586269d84c9f9c9bf35618bec9f6fca685af6d2c867c08";
const JOB_UID = "11111111-2222-4333-8444-555555555555";
const OTHER_UID = "99999999-2222-4333-8444-555555555555";
const NOW = new Date("2026-12-02T12:00:00Z");

const restoredReport: RestoredReport = {
  result: "Restored",
  jobUid: JOB_UID,
  backup: "ns_db/ns_db-20261202T115900Z-0123456789ab.sql",
  sha256: SHA,
  time: "2026-12-02T11:59:30Z",
};

Deno.test("what a finished restore Job amounts to, from its state and its verified report (table)", () => {
  const nothing: JobReport = { result: "NothingToRestore", jobUid: JOB_UID };
  const failedReport: JobReport = {
    result: "Failed",
    jobUid: JOB_UID,
    reason: "DatabaseNotEmpty",
    message: "m",
  };
  const backedUp: JobReport = {
    result: "BackedUp",
    jobUid: JOB_UID,
    readOnly: true,
    file: "f.sql",
    bytes: 1,
    sha256: SHA,
    time: "t",
  };
  const cases: [state: "succeeded" | "failed", report: JobReport | undefined, expected: RestoreOutcome][] = [
    ["succeeded", restoredReport, { kind: "restored", report: restoredReport }],
    ["succeeded", nothing, { kind: "nothing", report: nothing }],
    // Completed without a verified report (none, another Job's, a malformed one: readJobReport gives undefined).
    ["succeeded", undefined, { kind: "unverified" }],
    // A report of the wrong kind says nothing about a restore.
    ["succeeded", backedUp, { kind: "unverified" }],
    ["succeeded", failedReport, { kind: "failed", report: failedReport }],
    ["failed", failedReport, { kind: "failed", report: failedReport }],
    ["failed", undefined, { kind: "failed" }],
    // A Job that failed is never a restore, whatever its report claims.
    ["failed", restoredReport, { kind: "failed" }],
    ["failed", nothing, { kind: "failed" }],
  ];
  for (const [state, report, expected] of cases) {
    deepStrictEqual(
      restoreOutcome(state, report),
      expected,
      `${state} with ${report?.result ?? "no"} report`,
    );
  }
});

/** A terminated pod with `message`, labelled as made for the Job with `uid`. */
function pod(uid: string, message: string | undefined): KubeObject {
  return {
    metadata: { name: `p-${uid.slice(0, 4)}`, labels: { "batch.kubernetes.io/controller-uid": uid } },
    status: {
      containerStatuses: [{
        state: { terminated: { exitCode: 0, finishedAt: "2026-12-02T11:59:40Z", message } },
      }],
    },
  };
}

/** A report line as the restore script writes it, with `fields` replacing (or, when undefined, removing) fields. */
function line(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...restoredReport, ...fields });
}

/**
 * One restore pass over this incarnation's finished restore Job (Complete or Failed), with `pods` listed by the
 * fake API server (it ignores the label selector, so readJobReport's own filtering is exercised too).
 */
async function pass(state: "Complete" | "Failed", pods: KubeObject[]) {
  const obj = mysqlObject({ namespace: "ns", name: "db" });
  const job = renderRestoreJob(obj, { host: TEST_HOST }, DEFAULT_RENDER_OPTIONS) as KubeObject;
  job.metadata!.uid = JOB_UID;
  job.status = {
    conditions: [{ type: state, status: "True", reason: state === "Failed" ? "BackoffLimitExceeded" : "" }],
  };
  const backupPVC = renderBackupPVC(obj, DEFAULT_RENDER_OPTIONS) as KubeObject;
  backupPVC.metadata!.annotations = { [ANNOTATIONS.lastBackupTime]: "2026-12-02T11:00:00Z" };
  const events: Array<[type: string, reason: string, message: string]> = [];
  const deleted: string[] = [];
  const ctx = {
    cluster: "test",
    client: {
      list: () => Promise.resolve({ items: pods }),
      delete: (path: string) => {
        deleted.push(path);
        return Promise.resolve();
      },
    } as unknown as KubeClient,
    cache: { jobs: () => [job] } as unknown as ClusterCache,
    log: {} as Logger,
    events: {
      emit: (_o: MySQL, type: string, reason: string, message: string) => {
        events.push([type, reason, message]);
        return Promise.resolve();
      },
    },
    options: DEFAULT_RECONCILE_OPTIONS,
    now: () => NOW,
  } as ClusterContext;
  const sb = new StatusBuilder(obj, NOW);
  const after: AfterStatus = [];
  const progress = await reconcileRestore(
    ctx,
    obj,
    sb,
    { available: true, host: TEST_HOST, backupPVC },
    after,
  );
  await Promise.all(after.map((f) => f()));
  return { progress, sb, events, deleted };
}

Deno.test("a restore Job that completed with its own report is recorded as Restored, naming the backup", async () => {
  const { progress, sb, events, deleted } = await pass("Complete", [pod(JOB_UID, line())]);
  equal(progress, "done");
  deepStrictEqual(sb.status.restore, {
    result: "Restored",
    time: "2026-12-02T12:00:00Z",
    backup: restoredReport.backup,
  });
  equal(sb.get("Restored")?.status, "True");
  deepStrictEqual(events.map(([t, r]) => [t, r]), [["Normal", "Restored"]]);
  equal(deleted.length, 1, "the Job is deleted once the outcome is recorded");
  // The script's note about skipped newer backups reaches status.
  const note = await pass("Complete", [pod(JOB_UID, line({ message: "skipped newer backups: x.sql" }))]);
  equal(note.sb.status.restore?.message, "skipped newer backups: x.sql");
  const nothing = await pass("Complete", [
    pod(JOB_UID, JSON.stringify({ jobUid: JOB_UID, result: "NothingToRestore" })),
  ]);
  equal(nothing.sb.status.restore?.result, "NothingToRestore");
  equal(nothing.sb.get("Restored")?.reason, "NothingToRestore");
});

Deno.test("a restore Job that completed without a verified report is a failure (Unverified), never Restored", async () => {
  const cases: Array<[what: string, pods: KubeObject[]]> = [
    ["no termination message (a simulated pod)", [pod(JOB_UID, undefined)]],
    ["no pod at all", []],
    ["garbage message", [pod(JOB_UID, "done!")]],
    ["a report naming another Job", [pod(JOB_UID, line({ jobUid: OTHER_UID }))]],
    ["a report without jobUid", [pod(JOB_UID, line({ jobUid: undefined }))]],
    ["a report without sha256", [pod(JOB_UID, line({ sha256: undefined }))]],
    ["the report is on another Job's pod", [pod(OTHER_UID, line())]],
    ["a backup's report", [
      pod(JOB_UID, line({ result: "BackedUp", readOnly: true, file: "f.sql", bytes: 1 })),
    ]],
  ];
  for (const [what, pods] of cases) {
    const { progress, sb, events, deleted } = await pass("Complete", pods);
    equal(progress, "failed", what);
    equal(sb.status.restore?.result, "Failed", what);
    equal(sb.status.restore?.backup, undefined, what);
    equal(sb.status.restore?.message, `Unverified: ${UNVERIFIED.message}`, what);
    const restored = sb.get("Restored");
    deepStrictEqual([restored?.status, restored?.reason], ["False", "RestoreFailed"], what);
    deepStrictEqual(events.map(([t, r]) => [t, r]), [["Warning", "RestoreFailed"]], what);
    ok(events[0][2].includes("Unverified"), `${what}: ${events[0][2]}`);
    // Recorded once, like any other failed restore: no retry, no attempt counted.
    equal(sb.status.restoreAttempts, undefined, what);
    equal(deleted.length, 1, `${what}: the Job is deleted once the outcome is recorded`);
  }
});

Deno.test("a recorded unverified restore stays failed: no new restore Job on later passes", async () => {
  const { sb } = await pass("Complete", [pod(JOB_UID, undefined)]);
  const obj = mysqlObject({ namespace: "ns", name: "db" });
  obj.status = sb.status;
  const created: string[] = [];
  const ctx = {
    client: {
      create: (path: string) => {
        created.push(path);
        return Promise.resolve({});
      },
    },
    cache: { jobs: () => [] },
  } as unknown as ClusterContext;
  const later = new StatusBuilder(obj, NOW);
  equal(await reconcileRestore(ctx, obj, later, { available: true, host: TEST_HOST }, []), "failed");
  deepStrictEqual(created, []);
});

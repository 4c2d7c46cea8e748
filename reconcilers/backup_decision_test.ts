/** Backup Jobs as tables: which outcome a pass records, which Jobs go, and what a finished Job amounts to. */
import { deepStrictEqual } from "node:assert/strict";
import type { BackedUpReport, JobReport } from "../templates/job_report.ts";
import type { BackupReason } from "../templates/mod.ts";
import { type BackupJobFacts, type FinishedBackup, planBackupJobs, recordBackup } from "./backup_decision.ts";

const j = (name: string, state: BackupJobFacts["state"], deleting = false): BackupJobFacts => ({
  name,
  state,
  deleting,
});

// jobs, status.lastBackupJob → busy, record, delete after the status write
const PLANS: Array<[string, BackupJobFacts[], string | undefined, boolean, string | undefined, string[]]> = [
  ["no Jobs", [], undefined, false, undefined, []],
  ["one running", [j("a", "active")], undefined, true, undefined, []],
  ["one finished: recorded, then deleted", [j("a", "succeeded")], undefined, false, "a", ["a"]],
  ["a failed one is recorded the same way", [j("a", "failed")], undefined, false, "a", ["a"]],
  [
    "recorded before, its deletion lost: deleted, not recorded again",
    [j("a", "succeeded")],
    "a",
    false,
    undefined,
    ["a"],
  ],
  [
    "two finished: one outcome per pass, the other waits (busy)",
    [j("a", "succeeded"), j("b", "failed")],
    undefined,
    true,
    "a",
    ["a"],
  ],
  ["a recorded one and a new one", [j("a", "succeeded"), j("b", "succeeded")], "a", false, "b", ["a", "b"]],
  ["one being deleted is ignored", [j("a", "succeeded", true)], undefined, false, undefined, []],
  ["running and finished", [j("a", "active"), j("b", "failed")], undefined, true, "b", ["b"]],
];

for (const [name, jobs, recorded, busy, record, deletes] of PLANS) {
  Deno.test(`planBackupJobs: ${name}`, () => {
    const p = planBackupJobs(jobs, recorded);
    deepStrictEqual([p.busy, p.record, p.deleteAfterStatus], [busy, record, deletes]);
  });
}

const NOW = "2026-12-02T12:00:00Z";
const report = (fields: Partial<BackedUpReport> = {}): BackedUpReport => ({
  result: "BackedUp",
  jobUid: "u",
  readOnly: true,
  file: "ns_db/x.sql",
  bytes: 10,
  sha256: "s",
  time: "2026-12-02T11:59:00Z",
  ...fields,
});
const failed: JobReport = { result: "Failed", jobUid: "u", reason: "AccessDenied", message: "denied" };
const JOB_FAILURE = { reason: "BackoffLimitExceeded", message: "limit" };

// reason, state, report → ok, BackupReady reason, lastBackupFailure.reason (or none)
const RECORDS: Array<
  [string, BackupReason, "succeeded" | "failed", JobReport | undefined, boolean, string | undefined]
> = [
  ["a manual backup with its report", "manual", "succeeded", report({ readOnly: false }), true, undefined],
  [
    "a scheduled backup with its report",
    "scheduled",
    "succeeded",
    report({ readOnly: false }),
    true,
    undefined,
  ],
  ["a final backup taken read-only", "final", "succeeded", report(), true, undefined],
  [
    "a final backup not taken read-only: Unverified",
    "final",
    "succeeded",
    report({ readOnly: false }),
    false,
    "Unverified",
  ],
  ["a migrate backup taken read-only", "migrate", "succeeded", report({ tables: 4 }), true, undefined],
  [
    "a migrate backup that failed: the failure answers its value",
    "migrate",
    "failed",
    failed,
    false,
    "AccessDenied",
  ],
  [
    "a migrate backup not taken read-only: Unverified (the source could still take writes)",
    "migrate",
    "succeeded",
    report({ readOnly: false }),
    false,
    "Unverified",
  ],
  ["completed without a report: Unverified", "manual", "succeeded", undefined, false, "Unverified"],
  [
    "completed with a Failed report: the script's reason",
    "manual",
    "succeeded",
    failed,
    false,
    "AccessDenied",
  ],
  ["failed with the script's report", "final", "failed", failed, false, "AccessDenied"],
  [
    "failed without a report: the Job's reason",
    "scheduled",
    "failed",
    undefined,
    false,
    "BackoffLimitExceeded",
  ],
  [
    "failed although its report says backed up: never a backup",
    "manual",
    "failed",
    report(),
    false,
    "BackoffLimitExceeded",
  ],
];

for (const [name, reason, state, rep, ok, why] of RECORDS) {
  Deno.test(`recordBackup: ${name}`, () => {
    const job: FinishedBackup = { name: "db-backup-x", reason, state, report: rep, failure: JOB_FAILURE };
    const r = recordBackup(job, NOW, { finalBackupAttempts: 2, migrateBackupHandled: "m1" });
    deepStrictEqual([r.ok, r.condition.reason, r.status.lastBackupFailure?.reason], [
      ok,
      ok ? "BackupSucceeded" : "BackupFailed",
      why,
    ]);
    deepStrictEqual(
      r.status.lastBackupJob,
      "db-backup-x",
      "each outcome is recorded once, by the Job's name",
    );
    deepStrictEqual(r.event.type, ok ? "Normal" : "Warning");
    // Only a verified success marks the backup claim, sets lastBackupTime, and (final) lets the deletion go on.
    deepStrictEqual(Boolean(r.mark), ok);
    deepStrictEqual(r.status.lastBackupTime !== undefined, ok);
    deepStrictEqual(r.status.lastBackupBytes, ok ? 10 : undefined, "the size the report vouches for");
    deepStrictEqual(r.status.finalBackupTime !== undefined, ok && reason === "final");
    // Only a verified migrate backup answers the migrate-backup value (what `mysql-operator migrate` waits for).
    deepStrictEqual(
      r.status.migrateBackup,
      reason !== "migrate"
        ? undefined
        : ok
        ? { token: "m1", backup: "ns_db/x.sql", time: "2026-12-02T11:59:00Z", tables: 4 }
        : { token: "m1", time: NOW, failure: { reason: why, message: r.status.lastBackupFailure?.message } },
    );
    // A failed final backup counts an attempt (the finalizer's backoff); other failures do not.
    deepStrictEqual(r.status.finalBackupAttempts, !ok && reason === "final" ? 3 : undefined);
  });
}

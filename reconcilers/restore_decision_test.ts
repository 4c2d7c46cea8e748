/** The restore's decisions as a table of states: what the pass saw → progress, condition, event, Job action. */
import { deepStrictEqual } from "node:assert/strict";
import {
  decideRestore,
  MAX_RESTORE_ATTEMPTS,
  type RestoreFacts,
  type RestoreJobFacts,
} from "./restore_decision.ts";

const NOW = "2026-12-02T12:00:00Z";
const BASE: RestoreFacts = {
  jobName: "db-restore",
  lastBackup: "2026-12-02T11:00:00Z",
  serving: true,
  restoreAttempts: 0,
  now: NOW,
};
const JOB: RestoreJobFacts = {
  uid: "job-1",
  mine: true,
  earlierIncarnation: false,
  state: "active",
  failedAtMs: 0,
  failure: { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
};
const restored = {
  kind: "restored" as const,
  report: { jobUid: "job-1", result: "Restored" as const, backup: "ns_db/b.sql", sha256: "s", time: NOW },
};
const connFailed = (failedAtMs: number): RestoreJobFacts => ({
  ...JOB,
  state: "failed",
  failedAtMs,
  outcome: {
    kind: "failed",
    report: { jobUid: "job-1", result: "Failed", reason: "ConnectionFailed", message: "refused" },
  },
});
const storeFailed = (failedAtMs: number): RestoreJobFacts => ({
  ...JOB,
  state: "failed",
  failedAtMs,
  outcome: {
    kind: "failed",
    report: { jobUid: "job-1", result: "Failed", reason: "DownloadFailed", message: "cannot list b/p" },
  },
});
const at = (iso: string) => Date.parse(iso);

// name, facts → progress, Restored [status, reason] (or unchanged), event "type reason" (or none), Job action
const ROWS: Array<
  [
    string,
    Partial<RestoreFacts>,
    string,
    [string, string] | undefined,
    string | undefined,
    string | undefined,
  ]
> = [
  [
    "recorded Restored: done, nothing more",
    { recorded: { result: "Restored", time: NOW } },
    "done",
    undefined,
    undefined,
    undefined,
  ],
  [
    "recorded, its finished Job still there: deleted after the status write",
    {
      recorded: { result: "Restored", time: NOW },
      job: { ...JOB, state: "succeeded" },
    },
    "done",
    undefined,
    undefined,
    "deleteAfterStatus",
  ],
  [
    "recorded, someone else's Job of that name: left alone",
    {
      recorded: { result: "NothingToRestore", time: NOW },
      job: { ...JOB, mine: false, state: "succeeded" },
    },
    "done",
    undefined,
    undefined,
    undefined,
  ],
  [
    "recorded Failed stays failed: never a second restore",
    { recorded: { result: "Failed", time: NOW } },
    "failed",
    undefined,
    undefined,
    undefined,
  ],
  [
    "no backup of this instance: started empty",
    { lastBackup: undefined },
    "done",
    ["True", "NothingToRestore"],
    undefined,
    undefined,
  ],
  [
    "no backup, mysqld not serving yet: nothing to wait for",
    { lastBackup: undefined, serving: false },
    "done",
    ["True", "NothingToRestore"],
    undefined,
    undefined,
  ],
  [
    "a backup, mysqld not serving: waits",
    { serving: false },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    undefined,
  ],
  [
    "someone else's Job holds the name: waits, says so",
    { job: { ...JOB, mine: false } },
    "waiting",
    ["False", "NameConflict"],
    "Warning NameConflict",
    undefined,
  ],
  [
    "a leftover of an earlier incarnation: deleted now",
    { job: { ...JOB, mine: false, earlierIncarnation: true } },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    "deleteNow",
  ],
  ["no Job yet: started", {}, "running", ["False", "Restoring"], "Normal RestoreStarted", "create"],
  ["the Job runs", { job: JOB }, "running", ["False", "Restoring"], undefined, undefined],
  [
    "restored with a verified report",
    { job: { ...JOB, state: "succeeded", outcome: restored } },
    "done",
    ["True", "Restored"],
    "Normal Restored",
    "deleteAfterStatus",
  ],
  [
    "the restore found nothing",
    {
      job: {
        ...JOB,
        state: "succeeded",
        outcome: { kind: "nothing", report: { jobUid: "job-1", result: "NothingToRestore" } },
      },
    },
    "done",
    ["True", "NothingToRestore"],
    "Normal NothingToRestore",
    "deleteAfterStatus",
  ],
  [
    "completed without a verified report: failed (Unverified), never retried",
    {
      job: { ...JOB, state: "succeeded", outcome: { kind: "unverified" } },
    },
    "failed",
    ["False", "RestoreFailed"],
    "Warning RestoreFailed",
    "deleteAfterStatus",
  ],
  [
    "failed without a report: failed, never retried",
    {
      job: { ...JOB, state: "failed", outcome: { kind: "failed" } },
    },
    "failed",
    ["False", "RestoreFailed"],
    "Warning RestoreFailed",
    "deleteAfterStatus",
  ],
  [
    "could not connect, the pause not over: waits",
    { job: connFailed(at("2026-12-02T11:59:55Z")) },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    undefined,
  ],
  [
    "could not connect, the pause over: the Job goes, the attempt is counted",
    {
      job: connFailed(at("2026-12-02T11:59:50Z")),
    },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    "deleteNow",
  ],
  [
    "a retried Job the cache still shows: counted already, nothing again",
    {
      job: connFailed(0),
      restoreAttempts: 1,
      restoreRetriedJob: "job-1",
    },
    "waiting",
    undefined,
    undefined,
    undefined,
  ],
  [
    "the object store's Secret is missing: no Job (its pod would hang), no empty start; waits",
    { blocked: "Secret s3 does not exist" },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    undefined,
  ],
  [
    "the object store's Secret went missing while its Job runs: the Job's outcome still counts",
    { blocked: "Secret s3 does not exist", job: { ...JOB, state: "succeeded", outcome: restored } },
    "done",
    ["True", "Restored"],
    "Normal Restored",
    "deleteAfterStatus",
  ],
  [
    "the object store could not be read (DownloadFailed, nothing loaded): retried like a connection",
    { job: storeFailed(0), restoreAttempts: 0 },
    "waiting",
    ["False", "RestorePending"],
    undefined,
    "deleteNow",
  ],
  [
    "the object store could not be read on the last attempt: gives up",
    { job: storeFailed(0), restoreAttempts: MAX_RESTORE_ATTEMPTS - 1 },
    "failed",
    ["False", "RestoreFailed"],
    "Warning RestoreFailed",
    "deleteAfterStatus",
  ],
  [
    "could not connect on the last attempt: gives up",
    {
      job: connFailed(0),
      restoreAttempts: MAX_RESTORE_ATTEMPTS - 1,
    },
    "failed",
    ["False", "RestoreFailed"],
    "Warning RestoreFailed",
    "deleteAfterStatus",
  ],
];

for (const [name, facts, progress, condition, event, job] of ROWS) {
  Deno.test(`decideRestore: ${name}`, () => {
    const plan = decideRestore({ ...BASE, ...facts });
    deepStrictEqual(
      [
        plan.progress,
        plan.condition && [plan.condition.status, plan.condition.reason],
        plan.event && `${plan.event.type} ${plan.event.reason}`,
        plan.job,
      ],
      [progress, condition, event, job],
    );
  });
}

Deno.test("decideRestore: what status records, from the verified report and the attempts", () => {
  deepStrictEqual(decideRestore({ ...BASE, job: { ...JOB, state: "succeeded", outcome: restored } }).status, {
    restore: { result: "Restored", time: NOW, backup: "ns_db/b.sql" },
  });
  deepStrictEqual(decideRestore({ ...BASE, job: connFailed(0), restoreAttempts: 2 }).status, {
    restoreAttempts: 3,
    restoreRetriedJob: "job-1",
  });
  const gaveUp = decideRestore({ ...BASE, job: connFailed(0), restoreAttempts: MAX_RESTORE_ATTEMPTS - 1 });
  deepStrictEqual(
    gaveUp.status?.restore?.message,
    `ConnectionFailed: refused (gave up after ${MAX_RESTORE_ATTEMPTS} attempts)`,
  );
  const failed = decideRestore({ ...BASE, job: { ...JOB, state: "failed", outcome: { kind: "failed" } } });
  deepStrictEqual(
    failed.status?.restore?.message,
    "BackoffLimitExceeded: Job has reached the specified backoff limit",
  );
  deepStrictEqual(decideRestore({ ...BASE, lastBackup: undefined }).status, {
    restore: { result: "NothingToRestore", time: NOW, message: "no backup of this instance exists" },
  });
});

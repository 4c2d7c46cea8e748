/** Requested and scheduled backups, and what the schedule makes of BackupReady, as tables. */
import { deepStrictEqual } from "node:assert/strict";
import type { MySQLStatus } from "../api/mysql.ts";
import {
  backupReadyCondition,
  backupTrigger,
  STARTED_RECHECK_MS,
  type Trigger,
  type TriggerFacts,
} from "./backup_trigger.ts";

const t = (iso: string) => Date.parse(iso);
const BASE: TriggerFacts = {
  createdMs: t("2026-12-01T00:00:00Z"),
  lastSlotMs: 0,
  nowMs: t("2026-12-02T12:00:00Z"),
};

const ROWS: Array<[string, Partial<TriggerFacts>, Trigger]> = [
  ["nothing asked, no schedule", {}, {}],
  ["a new backup-now value", { requested: "1" }, {
    due: { reason: "manual", token: "1", status: { backupNowHandled: "1" } },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["the backup-now value handled already", { requested: "1", handled: "1" }, {}],
  ["a changed backup-now value", { requested: "2", handled: "1" }, {
    due: { reason: "manual", token: "2", status: { backupNowHandled: "2" } },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["backup-now and a due slot: the request first, the slot on a later pass", {
    requested: "2",
    handled: "1",
    schedule: "0 3 * * *",
  }, {
    due: { reason: "manual", token: "2", status: { backupNowHandled: "2" } },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["a new migrate-backup value, before a new backup-now value", {
    migrateRequested: "m1",
    requested: "2",
    handled: "1",
  }, {
    due: { reason: "migrate", token: "m1", status: { migrateBackupHandled: "m1" } },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["the migrate-backup value handled already (a failed one is not repeated)", {
    migrateRequested: "m1",
    migrateHandled: "m1",
  }, {}],
  ["a slot since creation not served yet", { schedule: "0 3 * * *" }, {
    due: {
      reason: "scheduled",
      token: "2026-12-02T03:00:00.000Z",
      status: { lastScheduledSlot: "2026-12-02T03:00:00.000Z" },
    },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["the slot served: look again at the next one (half a second after it)", {
    schedule: "0 3 * * *",
    lastSlotMs: t("2026-12-02T03:00:00Z"),
  }, { recheckMs: t("2026-12-03T03:00:00.500Z") - t("2026-12-02T12:00:00Z") }],
  ["the newest slot is before the object's creation: not owed", {
    schedule: "0 3 * * *",
    createdMs: t("2026-12-02T04:00:00Z"),
  }, { recheckMs: t("2026-12-03T03:00:00.500Z") - t("2026-12-02T12:00:00Z") }],
  ["missed slots are not caught up one by one: one backup for the newest", {
    schedule: "0 * * * *",
    lastSlotMs: t("2026-12-02T06:00:00Z"),
  }, {
    due: {
      reason: "scheduled",
      token: "2026-12-02T12:00:00.000Z",
      status: { lastScheduledSlot: "2026-12-02T12:00:00.000Z" },
    },
    recheckMs: STARTED_RECHECK_MS,
  }],
  ["an unreadable schedule starts nothing", { schedule: "61 * * * *" }, {}],
];

for (const [name, facts, want] of ROWS) {
  Deno.test(`backupTrigger: ${name}`, () => deepStrictEqual(backupTrigger({ ...BASE, ...facts }), want));
}

const invalid = {
  type: "BackupReady",
  status: "False" as const,
  reason: "InvalidSchedule",
  message: "no scheduled backups: …",
  lastTransitionTime: "2026-12-02T11:00:00Z",
};
const ok = { lastBackupTime: "2026-12-02T10:00:00Z", lastBackup: "ns_db/x.sql" };
const failure = { time: "2026-12-02T11:00:00Z", reason: "AccessDenied", message: "denied" };

// schedule, status → BackupReady [status, reason] or unchanged, and whether a Warning goes out
const CONDITION_ROWS: Array<
  [string, string | undefined, MySQLStatus, [string, string] | undefined, boolean]
> = [
  ["unreadable schedule", "61 * * * *", ok, ["False", "InvalidSchedule"], true],
  ["unreadable schedule, no backup yet", "a b c d e", {}, ["False", "InvalidSchedule"], true],
  ["no backup has an outcome yet", "0 3 * * *", {}, ["Unknown", "NoBackupYet"], false],
  ["no schedule, no backup yet", undefined, {}, ["Unknown", "NoBackupYet"], false],
  ["fixed schedule after a success", "0 3 * * *", { conditions: [invalid], ...ok }, [
    "True",
    "BackupSucceeded",
  ], false],
  ["fixed schedule after a later failure", undefined, {
    conditions: [invalid],
    ...ok,
    lastBackupFailure: failure,
  }, [
    "False",
    "BackupFailed",
  ], false],
  ["fixed schedule, only a failure", "0 3 * * *", { conditions: [invalid], lastBackupFailure: failure }, [
    "False",
    "BackupFailed",
  ], false],
  [
    "a recorded outcome stays as it is",
    "0 3 * * *",
    {
      conditions: [{ ...invalid, status: "True", reason: "BackupSucceeded", message: "m" }],
      ...ok,
    },
    undefined,
    false,
  ],
];

for (const [name, schedule, status, want, warns] of CONDITION_ROWS) {
  Deno.test(`backupReadyCondition: ${name}`, () => {
    const v = backupReadyCondition(schedule, status);
    deepStrictEqual(v.condition && [v.condition.status, v.condition.reason], want);
    deepStrictEqual(v.warning !== undefined, warns);
    if (v.warning) deepStrictEqual(v.warning, v.condition?.message);
  });
}

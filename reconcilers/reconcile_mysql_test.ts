/**
 * How a schedule cron cannot read is said (tests/claims_test.ts proves it against a real API server for an
 * instance without backups; this covers the way back once the schedule is fixed).
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import type { MySQL, MySQLStatus } from "../api/mysql.ts";
import { mysqlObject } from "../templates/testing.ts";
import type { EventSink } from "./context.ts";
import { reportSchedule } from "./reconcile_mysql.ts";
import { StatusBuilder } from "./status.ts";

const NOW = new Date("2026-12-02T12:00:00Z");

async function report(schedule: string | undefined, status: MySQLStatus) {
  const obj: MySQL = { ...mysqlObject({ spec: { backup: { schedule } } }), status };
  const events: string[] = [];
  const sink: EventSink = {
    emit: (_o, type, reason) => {
      events.push(`${type} ${reason}`);
      return Promise.resolve();
    },
  };
  const sb = new StatusBuilder(obj, NOW);
  await reportSchedule({ events: sink }, obj, sb);
  const c = sb.get("BackupReady");
  return { condition: c && [c.status, c.reason], message: c?.message ?? "", events };
}

const invalid = {
  type: "BackupReady",
  status: "False" as const,
  reason: "InvalidSchedule",
  message: "no scheduled backups: …",
  lastTransitionTime: "2026-12-02T11:00:00Z",
};

Deno.test("a schedule cron cannot read: BackupReady=False (InvalidSchedule) naming the field, and a Warning event", async () => {
  for (const schedule of ["61 * * * *", "* * 0 * *", "a b c d e", "0 3 * *"]) {
    const r = await report(schedule, {});
    deepStrictEqual(r.condition, ["False", "InvalidSchedule"], schedule);
    equal(r.message.startsWith("no scheduled backups: "), true, r.message);
    deepStrictEqual(r.events, ["Warning InvalidSchedule"], schedule);
  }
});

Deno.test("a fixed schedule: the condition tells the last backup's outcome again; other conditions are left alone", async () => {
  const ok = await report("0 3 * * *", {
    conditions: [invalid],
    lastBackupTime: "2026-12-02T10:00:00Z",
    lastBackup: "ns_db/x.sql",
  });
  deepStrictEqual(ok.condition, ["True", "BackupSucceeded"]);
  deepStrictEqual(ok.events, []);
  const failed = await report(undefined, {
    conditions: [invalid],
    lastBackupTime: "2026-12-02T10:00:00Z",
    lastBackupFailure: { time: "2026-12-02T11:00:00Z", reason: "AccessDenied", message: "denied" },
  });
  deepStrictEqual(failed.condition, ["False", "BackupFailed"]);
  equal(failed.message.includes("AccessDenied"), true, failed.message);
  // Not ours to change: a condition about a backup.
  const other = await report("0 3 * * *", {
    conditions: [{ ...invalid, status: "True", reason: "BackupSucceeded", message: "m" }],
    lastBackupTime: "2026-12-02T10:00:00Z",
  });
  deepStrictEqual(other.condition, ["True", "BackupSucceeded"]);
  equal(other.message, "m");
});

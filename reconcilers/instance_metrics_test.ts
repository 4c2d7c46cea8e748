import { deepStrictEqual, ok } from "node:assert/strict";
import { backupIntervalSeconds, instanceSeries } from "./instance_metrics.ts";
import { mysqlObject } from "../templates/testing.ts";

const NOW = new Date("2026-12-02T12:00:00Z"); // a Wednesday
const H = 3600;

Deno.test("backup interval: the longest gap between the next slots, bounded; none without a readable schedule", () => {
  deepStrictEqual(backupIntervalSeconds("* * * * *", NOW), 60);
  deepStrictEqual(backupIntervalSeconds("0 3 * * *", NOW), 24 * H);
  deepStrictEqual(backupIntervalSeconds("0 */6 * * *", NOW), 6 * H);
  // Weekdays only: three days over the weekend, not one.
  deepStrictEqual(backupIntervalSeconds("0 3 * * 1-5", NOW), 72 * H);
  // Rarer than the horizon: reported as 32 days.
  deepStrictEqual(backupIntervalSeconds("@yearly", NOW), 32 * 24 * H);
  deepStrictEqual(backupIntervalSeconds("0 0 30 2 *", NOW), 32 * 24 * H); // never: 30 February
  deepStrictEqual(backupIntervalSeconds(undefined, NOW), undefined);
  deepStrictEqual(backupIntervalSeconds("61 * * * *", NOW), undefined);
});

Deno.test("backup interval: a rare schedule costs a bounded scan", () => {
  const t0 = performance.now();
  backupIntervalSeconds("0 0 1 1 *", new Date("2026-01-02T00:00:00Z"));
  // Not a speed target: a guard that the horizon applies (a year-long scan per slot would take seconds).
  ok(performance.now() - t0 < 5_000);
});

Deno.test("instance series: from status (phase, Ready's reason, last backup) and the object (created, schedule)", () => {
  const obj = {
    ...mysqlObject({ spec: { backup: { schedule: "0 3 * * *" } } }),
  };
  obj.metadata.creationTimestamp = "2026-12-01T00:00:00Z";
  const s = instanceSeries(obj, {
    phase: "Deleting",
    lastBackupTime: "2026-12-02T03:00:05Z",
    lastBackupBytes: 4096,
    conditions: [{
      type: "Ready",
      status: "False",
      reason: "FinalBackupFailed",
      message: "m",
      lastTransitionTime: "2026-12-02T11:00:00Z",
    }],
  }, NOW);
  deepStrictEqual(s, {
    phase: "Deleting",
    reason: "FinalBackupFailed",
    lastBackupSeconds: Date.parse("2026-12-02T03:00:05Z") / 1000,
    lastBackupBytes: 4096,
    backupTarget: "volume",
    createdSeconds: Date.parse("2026-12-01T00:00:00Z") / 1000,
    backupIntervalSeconds: 24 * H,
  });
  const paused = instanceSeries(obj, {
    phase: "Paused",
    conditions: [
      { type: "Ready", status: "True", reason: "Available", message: "m", lastTransitionTime: "x" },
      { type: "Reconciling", status: "False", reason: "Paused", message: "m", lastTransitionTime: "x" },
    ],
  }, NOW);
  deepStrictEqual([paused.phase, paused.reason, paused.lastBackupSeconds], ["Paused", "Paused", undefined]);
});

Deno.test("instance series: the backup target is store with spec.backup.objectStore, else volume", () => {
  const store = {
    endpoint: "https://s3.example.com",
    bucket: "b",
    credentialsSecretRef: { name: "k" },
  };
  const inStore = mysqlObject({ spec: { backup: { objectStore: store } } });
  deepStrictEqual(instanceSeries(inStore, { lastBackupBytes: 7 }, NOW).backupTarget, "store");
  deepStrictEqual(instanceSeries(mysqlObject(), {}, NOW).backupTarget, "volume");
});

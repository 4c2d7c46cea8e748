import { equal, ok } from "node:assert/strict";
import type { MySQL } from "../api/mysql.ts";
import { boundStatus, capMessage, MAX_STATUS_MESSAGE, StatusBuilder } from "./status.ts";

const obj = (status?: MySQL["status"]): MySQL => ({
  apiVersion: "otus.homework/v1",
  kind: "MySQL",
  metadata: { name: "db", namespace: "ns", uid: "u", generation: 1 },
  spec: { image: "mysql:8.4", database: "app", password: "x", storage_size: "1Gi" },
  status,
});

Deno.test("capMessage keeps short messages and cuts long ones to the limit, saying so", () => {
  equal(capMessage("short"), "short");
  const long = "x".repeat(100_000);
  const cut = capMessage(long);
  equal(cut.length, MAX_STATUS_MESSAGE);
  ok(cut.endsWith("(cut: 100000 characters)"), cut.slice(-40));
});

Deno.test("every message written into status is capped: conditions, last backup failure, restore", () => {
  const huge = "termination message ".repeat(10_000);
  const b = boundStatus({
    conditions: [{ type: "Ready", status: "False", reason: "R", message: huge, lastTransitionTime: "t" }],
    lastBackupFailure: { time: "t", reason: "DumpFailed", message: huge },
    restore: { result: "Failed", time: "t", message: huge },
  });
  equal(b.conditions![0].message.length, MAX_STATUS_MESSAGE);
  equal(b.lastBackupFailure!.message!.length, MAX_STATUS_MESSAGE);
  equal(b.restore!.message!.length, MAX_STATUS_MESSAGE);
});

Deno.test("a capped status written once does not count as changed again (no write on every pass)", () => {
  const huge = "y".repeat(50_000);
  const first = new StatusBuilder(obj(), new Date("2026-12-02T10:00:00Z"));
  first.set("Ready", "False", "R", huge);
  ok(first.changed);
  // What the API server stores is the capped status; the next pass sets the same long message again.
  const next = new StatusBuilder(obj(boundStatus(first.status)), new Date("2026-12-02T10:00:10Z"));
  next.set("Ready", "False", "R", huge);
  equal(next.changed, false);
});

Deno.test("capMessage never splits a surrogate pair", () => {
  for (let lead = 0; lead < 4; lead++) {
    const cut = capMessage("a".repeat(lead) + "😀".repeat(2000));
    ok(
      !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut),
      `lone high surrogate with ${lead} leading characters`,
    );
    ok(cut.length <= MAX_STATUS_MESSAGE);
  }
});

/** Every phase and Ready transition, as a table: where the pass stands → what status and event say. */
import { deepStrictEqual } from "node:assert/strict";
import { PHASES, REASONS } from "../api/status.ts";
import {
  type LiveFacts,
  liveStage,
  pausedStage,
  type Progress,
  progressOf,
  readiness,
  type Stage,
} from "./readiness.ts";
import { ANNOTATIONS } from "../api/mysql.ts";

type Row = [string, Stage, boolean, string, string, string, string | undefined];

// name, stage, was Ready before, → phase, Ready status, Ready reason, event ("type reason") or none
const ROWS: Row[] = [
  [
    "invalid spec",
    { stage: "invalidSpec", message: "m" },
    false,
    PHASES.failed,
    "False",
    REASONS.invalidSpec,
    "Warning InvalidSpec",
  ],
  [
    "invalid spec of a Ready object",
    { stage: "invalidSpec", message: "m" },
    true,
    PHASES.failed,
    "False",
    REASONS.invalidSpec,
    "Warning InvalidSpec",
  ],
  [
    "password Secret missing",
    { stage: "passwordMissing", message: "m" },
    false,
    PHASES.failed,
    "False",
    REASONS.passwordSecretNotFound,
    "Warning PasswordSecretNotFound",
  ],
  [
    "a child's name is someone else's",
    { stage: "nameConflict", message: "m" },
    true,
    PHASES.failed,
    "False",
    REASONS.nameConflict,
    "Warning NameConflict",
  ],
  [
    "mysqld not available yet",
    { stage: "provisioning" },
    false,
    PHASES.provisioning,
    "False",
    REASONS.mysqlNotReady,
    undefined,
  ],
  [
    "mysqld lost its pod",
    { stage: "provisioning" },
    true,
    PHASES.provisioning,
    "False",
    REASONS.mysqlNotReady,
    undefined,
  ],
  [
    "restore waits or runs",
    { stage: "restoring" },
    false,
    PHASES.restoring,
    "False",
    REASONS.restoring,
    undefined,
  ],
  [
    "restore failed",
    { stage: "restoreFailed", message: "m" },
    false,
    PHASES.restoreFailed,
    "False",
    REASONS.restoreFailed,
    undefined,
  ],
  [
    "serving for the first time",
    { stage: "serving" },
    false,
    PHASES.ready,
    "True",
    REASONS.available,
    "Normal Ready",
  ],
  [
    "serving still: no event again",
    { stage: "serving" },
    true,
    PHASES.ready,
    "True",
    REASONS.available,
    undefined,
  ],
  [
    "deleting: final backup running",
    { stage: "deleting", reason: REASONS.finalBackupRunning, message: "m" },
    true,
    PHASES.deleting,
    "False",
    REASONS.finalBackupRunning,
    undefined,
  ],
  [
    "deleting: waiting for mysqld",
    { stage: "deleting", reason: REASONS.finalBackupWaiting, message: "m" },
    false,
    PHASES.deleting,
    "False",
    REASONS.finalBackupWaiting,
    undefined,
  ],
  [
    "deleting: final backup failed, backing off",
    { stage: "deleting", reason: REASONS.finalBackupFailed, message: "m" },
    false,
    PHASES.deleting,
    "False",
    REASONS.finalBackupFailed,
    undefined,
  ],
  [
    "deleting: final backup blocked",
    { stage: "deleting", reason: REASONS.finalBackupBlocked, message: "m" },
    false,
    PHASES.deleting,
    "False",
    REASONS.finalBackupBlocked,
    "Warning FinalBackupBlocked",
  ],
  [
    "deleting: a foreign object in the way",
    { stage: "deleting", reason: REASONS.nameConflict, message: "m" },
    false,
    PHASES.deleting,
    "False",
    REASONS.nameConflict,
    "Warning NameConflict",
  ],
  [
    "a failed pass",
    { stage: "error", reason: REASONS.forbidden, message: "m", deleting: false },
    true,
    PHASES.failed,
    "False",
    REASONS.forbidden,
    "Warning Forbidden",
  ],
  [
    "a failed pass while deleting",
    { stage: "error", reason: REASONS.apiUnreachable, message: "m", deleting: true },
    false,
    PHASES.deleting,
    "False",
    REASONS.apiUnreachable,
    "Warning APIUnreachable",
  ],
];

for (const [name, stage, wasReady, phase, status, reason, event] of ROWS) {
  Deno.test(`readiness: ${name} → ${phase}, Ready=${status} (${reason})${event ? `, event ${event}` : ""}`, () => {
    const r = readiness(stage, wasReady);
    deepStrictEqual(
      [r.phase, r.ready!.status, r.ready!.reason, r.event && `${r.event.type} ${r.event.reason}`],
      [phase, status, reason, event],
    );
  });
}

Deno.test("readiness: every stage's message reaches the condition and its event", () => {
  for (const [, stage] of ROWS) {
    const r = readiness(stage, false);
    if ("message" in stage) deepStrictEqual(r.ready!.message.endsWith(stage.message), true, stage.stage);
    if (r.event) deepStrictEqual(r.event.message, r.ready!.message, stage.stage);
  }
});

// facts → stage: the first problem found wins; a serving mysqld waits for its restore.
const LIVE: Array<[string, LiveFacts, Stage["stage"]]> = [
  ["nothing known yet", {}, "provisioning"],
  ["invalid spec beats everything", {
    invalidSpec: "m",
    passwordProblem: "p",
    conflict: "c",
    available: true,
  }, "invalidSpec"],
  ["password beats a conflict", { passwordProblem: "p", conflict: "c", available: true }, "passwordMissing"],
  ["conflict beats availability", { conflict: "c", available: true, restore: "done" }, "nameConflict"],
  ["not available, restore waiting", { available: false, restore: "waiting" }, "provisioning"],
  ["the first Deployment waits for its claim", { available: false, waitingFor: ["db-data"] }, "provisioning"],
  ["available, restore waiting", { available: true, restore: "waiting" }, "restoring"],
  ["available, restore running", { available: true, restore: "running" }, "restoring"],
  ["available, restore failed", { available: true, restore: "failed", restoreMessage: "x" }, "restoreFailed"],
  ["available, restore done", { available: true, restore: "done" }, "serving"],
];

Deno.test("readiness: the first Deployment's wait names the claim", () => {
  const r = readiness(liveStage({ available: false, waitingFor: ["data-db"] }), false);
  deepStrictEqual([r.phase, r.ready?.reason, r.reconciling.status], [
    PHASES.provisioning,
    REASONS.mysqlNotReady,
    "True",
  ]);
  deepStrictEqual(r.ready?.message.startsWith("waiting for claim data-db to bind"), true, r.ready?.message);
  deepStrictEqual(readiness({ stage: "provisioning" }, false).ready?.message.includes("claim"), false);
});

for (const [name, facts, want] of LIVE) {
  Deno.test(`liveStage: ${name} → ${want}`, () => deepStrictEqual(liveStage(facts).stage, want));
}

// Reconciling / Stalled (kstatus' abnormal-true pair): every row of the table above, by name.
const PROGRESS: Record<string, Progress> = {
  "invalid spec": "stalled",
  "invalid spec of a Ready object": "stalled",
  "password Secret missing": "stalled",
  "a child's name is someone else's": "stalled",
  "mysqld not available yet": "reconciling",
  "mysqld lost its pod": "reconciling",
  "restore waits or runs": "reconciling",
  "restore failed": "stalled",
  "serving for the first time": "settled",
  "serving still: no event again": "settled",
  "deleting: final backup running": "reconciling",
  "deleting: waiting for mysqld": "reconciling",
  "deleting: final backup failed, backing off": "reconciling",
  "deleting: final backup blocked": "stalled",
  "deleting: a foreign object in the way": "stalled",
  "a failed pass": "stalled",
  "a failed pass while deleting": "reconciling",
};

Deno.test("progress: every row of the readiness table has its expected Reconciling/Stalled", () => {
  deepStrictEqual(Object.keys(PROGRESS).sort(), ROWS.map(([name]) => name).sort());
});

for (const [name, stage, wasReady] of ROWS) {
  const expected = PROGRESS[name];
  Deno.test(`progress: ${name} → ${expected}`, () => {
    deepStrictEqual(progressOf(stage), expected);
    const r = readiness(stage, wasReady);
    deepStrictEqual(
      [r.reconciling.status, r.stalled.status],
      [expected === "reconciling" ? "True" : "False", expected === "stalled" ? "True" : "False"],
    );
    // The three conditions tell one story: the same reason and message.
    for (const c of [r.reconciling, r.stalled]) {
      deepStrictEqual([c.reason, c.message], [r.ready!.reason, r.ready!.message]);
    }
  });
}

Deno.test("progress: an API error retried with backoff is on its way; a refusal is stuck until RBAC changes", () => {
  deepStrictEqual(
    progressOf({ stage: "error", reason: REASONS.apiError, message: "m", deleting: false }),
    "reconciling",
  );
  deepStrictEqual(
    progressOf({ stage: "error", reason: REASONS.apiUnreachable, message: "m", deleting: false }),
    "reconciling",
  );
  deepStrictEqual(
    progressOf({ stage: "error", reason: REASONS.forbidden, message: "m", deleting: true }),
    "stalled",
  );
});

Deno.test("paused: only the annotation's absence or `active` reconciles; `paused` and anything else pause", () => {
  deepStrictEqual(pausedStage(undefined), undefined);
  deepStrictEqual(pausedStage({ other: "paused" }), undefined);
  deepStrictEqual(pausedStage({ [ANNOTATIONS.reconcile]: "active" }), undefined);
  const paused = pausedStage({ [ANNOTATIONS.reconcile]: "paused" });
  deepStrictEqual(paused?.stage, "paused");
  const typo = pausedStage({ [ANNOTATIONS.reconcile]: "Pause" });
  deepStrictEqual(typo?.stage, "paused");
  deepStrictEqual("message" in typo! && typo.message.includes('"Pause" is not understood'), true);
});

Deno.test("paused: phase Paused, Ready left as it was, Reconciling and Stalled False saying why, no event", () => {
  const stage = pausedStage({ [ANNOTATIONS.reconcile]: "paused" })!;
  for (const wasReady of [true, false]) {
    const r = readiness(stage, wasReady);
    deepStrictEqual(r.phase, PHASES.paused);
    deepStrictEqual(r.ready, undefined);
    deepStrictEqual(r.event, undefined);
    for (const c of [r.reconciling, r.stalled]) {
      deepStrictEqual([c.status, c.reason], ["False", REASONS.paused]);
    }
  }
  deepStrictEqual(progressOf(stage), "paused");
});

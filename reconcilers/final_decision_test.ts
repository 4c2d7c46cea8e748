import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  decideFinal,
  decideFinalBackup,
  type FinalBackupFacts,
  finalBackupRetryInMs,
  type FinalFacts,
  hasData,
  isNamespaceTerminating,
} from "./final_decision.ts";
import { ApiError } from "../runtime/kube/client.ts";
import { DEFAULT_RECONCILE_OPTIONS } from "./context.ts";

const base: FinalFacts = {
  skipRequested: false,
  hasData: true,
  finalBackupDone: false,
  finalBackupRecorded: false,
  backupBusy: false,
  specInvalid: false,
  namespaceTerminating: false,
};

// Every row that deletes data names the one fact that allows it; every other state keeps the data.
const table: Array<[string, Partial<FinalFacts>, ReturnType<typeof decideFinal>]> = [
  ["data, no backup yet: back up", {}, { action: "backup" }],
  ["backup running: wait", { backupBusy: true }, { action: "wait" }],
  ["verified final backup, recorded: delete", { finalBackupDone: true, finalBackupRecorded: true }, {
    action: "deleteData",
    why: "backedUp",
  }],
  // Found by the chaos run: a backup verified in this very pass was acted on before the object's status said so;
  // the data went and the record with it. The record is written first; the next pass deletes.
  ["verified final backup, not yet in status: record it first", { finalBackupDone: true }, {
    action: "record",
  }],
  ["user skipped the backup: delete", { skipRequested: true }, {
    action: "deleteData",
    why: "skipRequested",
  }],
  ["never had data: delete", { hasData: false }, { action: "deleteData", why: "noData" }],
  ["invalid spec: blocked, data kept", { specInvalid: true }, { action: "blocked", why: "specInvalid" }],
  ["namespace terminating: keep volumes", { namespaceTerminating: true }, { action: "keepVolumes" }],
  [
    "namespace terminating while a backup runs: keep volumes",
    { namespaceTerminating: true, backupBusy: true },
    { action: "keepVolumes" },
  ],
  [
    "namespace terminating after the backup: delete",
    { namespaceTerminating: true, finalBackupDone: true, finalBackupRecorded: true },
    { action: "deleteData", why: "backedUp" },
  ],
  ["invalid spec and running backup: wait for it", { specInvalid: true, backupBusy: true }, {
    action: "wait",
  }],
];

for (const [name, facts, want] of table) {
  Deno.test(`decideFinal: ${name}`, () => assertEquals(decideFinal({ ...base, ...facts }), want));
}

Deno.test("decideFinal: data is deleted only for a verified backup already recorded in status, a skip request or no data", () => {
  // Exhaustive: every combination of facts.
  const keys = Object.keys(base) as Array<keyof FinalFacts>;
  for (let bits = 0; bits < 1 << keys.length; bits++) {
    const f = Object.fromEntries(keys.map((k, i) => [k, Boolean(bits & (1 << i))])) as unknown as FinalFacts;
    const d = decideFinal(f);
    if (d.action === "deleteData") {
      assertEquals(
        f.skipRequested || !f.hasData || (f.finalBackupDone && f.finalBackupRecorded),
        true,
        JSON.stringify(f),
      );
    }
  }
});

Deno.test("isNamespaceTerminating: only the API server's refusal to create in a namespace being deleted, or gone", () => {
  const msg =
    'jobs.batch "x" is forbidden: unable to create new content in namespace ns because it is being terminated';
  assertEquals(isNamespaceTerminating(new ApiError(403, "Forbidden", msg, "POST /x")), true);
  assertEquals(isNamespaceTerminating(new ApiError(403, "Forbidden", "RBAC says no", "POST /x")), false);
  assertEquals(isNamespaceTerminating(new ApiError(409, "Conflict", msg, "POST /x")), false);
  assertEquals(isNamespaceTerminating(new Error(msg)), false);
  // Found by the chaos run: the namespace controller finalized a namespace while the API server restarted (the
  // custom resource was briefly not served, so none seemed left), and the objects stayed, deleting, in a namespace
  // that no longer exists. Creating anything there is refused with 404: no final backup can ever run either.
  const gone = 'namespaces "chaos-doomed" not found';
  assertEquals(
    isNamespaceTerminating(
      new ApiError(404, "NotFound", gone, "POST /api/v1/namespaces/chaos-doomed/secrets"),
    ),
    true,
  );
  assertEquals(
    isNamespaceTerminating(new ApiError(404, "NotFound", 'secrets "x" not found', "GET /x")),
    false,
  );
  assertEquals(isNamespaceTerminating(new ApiError(403, "Forbidden", gone, "POST /x")), false);
});

Deno.test("finalBackupRetryInMs: a failed final backup is retried after 10 s, doubling, at most 5 minutes (table)", () => {
  // The policy the operator runs with (mysqlController merges these defaults; no flag overrides them).
  const policy = DEFAULT_RECONCILE_OPTIONS.finalBackupRetry;
  const failedAt = Date.parse("2026-12-02T12:00:00Z");
  // Failed attempts so far → the pause after the last of them.
  const pauses: Array<[attempts: number, pauseMs: number]> = [
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 80_000],
    [5, 160_000],
    [6, 300_000], // 320 s, capped
    [7, 300_000],
    [20, 300_000],
    [10_000, 300_000], // never overflows into no pause at all
  ];
  for (const [attempts, pause] of pauses) {
    const at = (sinceMs: number) => finalBackupRetryInMs(attempts, failedAt, failedAt + sinceMs, policy);
    assertEquals(at(0), pause, `after ${attempts} failures, right after the last`);
    assertEquals(at(pause - 1), 1, `after ${attempts} failures, 1 ms before the retry`);
    assertEquals(at(pause), 0, `after ${attempts} failures, the retry is due`);
    assertEquals(at(pause + 60_000) < 0, true, `after ${attempts} failures, long after: due`);
  }
  // No failed attempt yet: the first final backup starts at once.
  assertEquals(finalBackupRetryInMs(0, failedAt, failedAt, policy), 0);
});

const POLICY = { baseMs: 10_000, maxMs: 300_000 };
const STEP_BASE: FinalBackupFacts = {
  collecting: false,
  serving: true,
  attempts: 0,
  jobRunning: false,
  nowMs: Date.parse("2026-12-02T12:00:00Z"),
  policy: POLICY,
};
const failedAt = (iso: string) => ({ time: iso, reason: "AccessDenied" });

// The final backup step, every path: facts → Ready reason, start a backup now, look again after
const STEPS: Array<[string, Partial<FinalBackupFacts>, string, boolean, number | "secret"]> = [
  ["mysqld serves, no attempt yet: start", {}, "FinalBackupRunning", true, 30_000],
  [
    "a backup Job still runs: wait for it, start nothing",
    { jobRunning: true },
    "FinalBackupRunning",
    false,
    30_000,
  ],
  [
    "password Secret missing: blocked, re-checked at the Secret interval",
    { passwordProblem: "p", serving: false },
    "FinalBackupBlocked",
    false,
    "secret",
  ],
  [
    "foreground deletion still collecting the owned children: makes nothing, even with mysqld serving",
    { collecting: true },
    "FinalBackupWaiting",
    false,
    30_000,
  ],
  [
    "foreground deletion collecting, a failed attempt due: still waits (a Job made now would be collected)",
    { collecting: true, attempts: 1, lastFailure: failedAt("2026-12-02T11:59:00Z") },
    "FinalBackupWaiting",
    false,
    30_000,
  ],
  ["a foreign object in the way: refused", { conflict: "c", serving: false }, "NameConflict", false, 30_000],
  [
    "mysqld not serving (claim deleted by hand, pod gone): waits",
    { serving: false },
    "FinalBackupWaiting",
    false,
    30_000,
  ],
  [
    "attempt 1 failed 4 s ago: backs off the remaining 6 s",
    {
      attempts: 1,
      lastFailure: failedAt("2026-12-02T11:59:56Z"),
    },
    "FinalBackupFailed",
    false,
    6_000,
  ],
  [
    "attempt 1 failed 10 s ago: tries again",
    { attempts: 1, lastFailure: failedAt("2026-12-02T11:59:50Z") },
    "FinalBackupRunning",
    true,
    30_000,
  ],
  [
    "attempt 3 failed 30 s ago: 40 s pause, 10 s left",
    {
      attempts: 3,
      lastFailure: failedAt("2026-12-02T11:59:30Z"),
    },
    "FinalBackupFailed",
    false,
    10_000,
  ],
  [
    "password first: nothing else is looked at",
    { passwordProblem: "p", conflict: "c", attempts: 1, lastFailure: failedAt("2026-12-02T11:59:59Z") },
    "FinalBackupBlocked",
    false,
    "secret",
  ],
];

for (const [name, facts, reason, start, recheck] of STEPS) {
  Deno.test(`decideFinalBackup: ${name}`, () => {
    const s = decideFinalBackup({ ...STEP_BASE, ...facts });
    assertEquals([s.reason, s.start, s.recheck], [reason, start, recheck]);
  });
}

Deno.test("decideFinalBackup: every message says the data is kept or what to do", () => {
  for (const [, facts] of STEPS) {
    const s = decideFinalBackup({ ...STEP_BASE, ...facts });
    if (s.reason === "FinalBackupBlocked") {
      assertEquals(s.message.includes("skip-final-backup=true"), true, s.message);
    }
    if (s.reason === "FinalBackupFailed" || s.reason === "NameConflict") {
      assertEquals(s.message.endsWith("the data is kept"), true, s.message);
    }
  }
});

// Whether there is data to protect: claim relabelled, missing, adopted by someone else, or never provisioned.
const DATA: Array<
  [string, string | undefined, Parameters<typeof hasData>[1], Parameters<typeof hasData>[2], boolean]
> = [
  ["never provisioned: nothing recorded, nothing found", undefined, "absent", undefined, false],
  ["bound once (recorded), claim deleted by hand since", "uid-1", "absent", "absent", true],
  ["bound once, claim relabelled (found by its annotations, ours)", "uid-1", "ours", "ours", true],
  [
    "claim relabelled before status recorded it: the live read finds it ours",
    undefined,
    "ours",
    undefined,
    true,
  ],
  ["only the volume is left, ours", undefined, "absent", "ours", true],
  ["a claim of an earlier operator version (legacy)", undefined, "legacy", undefined, true],
  ["a foreign claim of that name is not our data", undefined, "foreign", "foreign", false],
  [
    "recorded, then the name was taken by someone else: still ours to protect",
    "uid-1",
    "foreign",
    undefined,
    true,
  ],
];

for (const [name, recorded, claim, volume, want] of DATA) {
  Deno.test(`hasData: ${name} → ${want}`, () => assertEquals(hasData(recorded, claim, volume), want));
}

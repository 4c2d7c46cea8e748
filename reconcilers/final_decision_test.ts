import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decideFinal, type FinalFacts, isNamespaceTerminating } from "./final_decision.ts";
import { ApiError } from "../runtime/kube/client.ts";

const base: FinalFacts = {
  skipRequested: false,
  hasData: true,
  finalBackupDone: false,
  backupBusy: false,
  specInvalid: false,
  namespaceTerminating: false,
};

// Every row that deletes data names the one fact that allows it; every other state keeps the data.
const table: Array<[string, Partial<FinalFacts>, ReturnType<typeof decideFinal>]> = [
  ["data, no backup yet: back up", {}, { action: "backup" }],
  ["backup running: wait", { backupBusy: true }, { action: "wait" }],
  ["verified final backup: delete", { finalBackupDone: true }, { action: "deleteData", why: "backedUp" }],
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
    { namespaceTerminating: true, finalBackupDone: true },
    { action: "deleteData", why: "backedUp" },
  ],
  ["invalid spec and running backup: wait for it", { specInvalid: true, backupBusy: true }, {
    action: "wait",
  }],
];

for (const [name, facts, want] of table) {
  Deno.test(`decideFinal: ${name}`, () => assertEquals(decideFinal({ ...base, ...facts }), want));
}

Deno.test("decideFinal: data is deleted only for a verified backup, a skip request or no data", () => {
  // Exhaustive: every combination of facts.
  const keys = Object.keys(base) as Array<keyof FinalFacts>;
  for (let bits = 0; bits < 1 << keys.length; bits++) {
    const f = Object.fromEntries(keys.map((k, i) => [k, Boolean(bits & (1 << i))])) as unknown as FinalFacts;
    const d = decideFinal(f);
    if (d.action === "deleteData") {
      assertEquals(f.skipRequested || !f.hasData || f.finalBackupDone, true, JSON.stringify(f));
    }
  }
});

Deno.test("isNamespaceTerminating: only the API server's terminating-namespace refusal", () => {
  const msg =
    'jobs.batch "x" is forbidden: unable to create new content in namespace ns because it is being terminated';
  assertEquals(isNamespaceTerminating(new ApiError(403, "Forbidden", msg, "POST /x")), true);
  assertEquals(isNamespaceTerminating(new ApiError(403, "Forbidden", "RBAC says no", "POST /x")), false);
  assertEquals(isNamespaceTerminating(new ApiError(409, "Conflict", msg, "POST /x")), false);
  assertEquals(isNamespaceTerminating(new Error(msg)), false);
});

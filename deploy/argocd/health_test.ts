/**
 * The Argo CD health check (health.lua) run by a real Lua 5.1 interpreter (Debian's lua5.1; Argo CD runs gopher-lua,
 * Lua 5.1) over the status the operator's own code writes for every stage it can report (readiness.ts through
 * `settle`, as a pass does), so the check and the operator cannot drift apart: stuck → Degraded, serving → Healthy,
 * everything on its way → Progressing.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { parse } from "yaml";
import { argoHealth, ensureLua } from "../../tools/argocd_health.ts";
import { REASONS } from "../../api/status.ts";
import { ANNOTATIONS, type MySQL } from "../../api/mysql.ts";
import { pausedStage, progressOf, type Stage } from "../../reconcilers/readiness.ts";
import { settle, StatusBuilder } from "../../reconcilers/status.ts";

const HERE = new URL(".", import.meta.url).pathname;

const missing = await ensureLua();
if (missing) console.warn(`SKIPPED deploy/argocd/health_test.ts: lua5.1 not installed (${missing})`);
const health = argoHealth;

/** A MySQL object whose status a pass at `stage` wrote (readiness.ts through settle, as the reconciler does). */
async function objectAt(stage: Stage): Promise<MySQL> {
  const deleting = stage.stage === "deleting" || (stage.stage === "error" && stage.deleting);
  const obj = {
    apiVersion: "otus.homework/v1",
    kind: "MySQL",
    metadata: {
      name: "db",
      namespace: "ns",
      generation: 3,
      ...(deleting ? { deletionTimestamp: "2026-12-04T00:00:00Z" } : {}),
    },
    spec: {},
  } as unknown as MySQL;
  const sb = new StatusBuilder(obj, new Date("2026-12-04T00:00:00Z"));
  await settle({ events: { emit: async () => {} } } as never, obj, sb, stage);
  sb.observe();
  return { ...obj, status: sb.status };
}

/** Every stage the operator reports, each kind of deletion and error included. */
const STAGES: Stage[] = [
  { stage: "invalidSpec", message: "spec.storage: too small" },
  { stage: "passwordMissing", message: 'Secret "s" not found' },
  { stage: "nameConflict", message: 'Service "db" belongs to another app' },
  { stage: "provisioning" },
  { stage: "restoring" },
  { stage: "restoreFailed", message: "checksum mismatch" },
  { stage: "serving" },
  pausedStage({ [ANNOTATIONS.reconcile]: "paused" })!,
  pausedStage({ [ANNOTATIONS.reconcile]: "pasued" })!,
  ...[
    REASONS.finalBackupRunning,
    REASONS.finalBackupWaiting,
    REASONS.finalBackupFailed,
    REASONS.finalBackupBlocked,
    REASONS.nameConflict,
  ].map((reason) => ({ stage: "deleting", reason, message: `deleting: ${reason}` }) as Stage),
  ...[REASONS.forbidden, REASONS.apiUnreachable, REASONS.apiError, REASONS.reconcileError].flatMap((reason) =>
    [false, true].map((deleting) =>
      ({ stage: "error", reason, message: `it failed: ${reason}`, deleting }) as Stage
    )
  ),
];

const EXPECTED = {
  stalled: "Degraded",
  settled: "Healthy",
  reconciling: "Progressing",
  paused: "Suspended",
} as const;

for (const stage of STAGES) {
  const expected = EXPECTED[progressOf(stage)];
  const label = "reason" in stage
    ? `${stage.stage} (${stage.reason}${"deleting" in stage && stage.deleting ? ", deleting" : ""})`
    : stage.stage === "paused"
    ? `paused (${stage.message.split(";")[0]})`
    : stage.stage;
  Deno.test({
    name: `health.lua: ${label} → ${expected}`,
    ignore: missing !== undefined,
    async fn() {
      const obj = await objectAt(stage);
      const hs = await health(obj);
      equal(hs.status, expected, JSON.stringify(obj.status));
      const ready = obj.status!.conditions!.find((c) => c.type === "Ready");
      // What to do about it is in the message Argo CD shows: the operator's reason and words.
      if (expected === "Degraded" || expected === "Progressing") {
        match(hs.message, new RegExp(`^${ready!.reason}: `));
      }
      if ("message" in stage) equal(hs.message.endsWith(stage.message), true, hs.message);
    },
  });
}

Deno.test({
  name:
    "health.lua: no status yet, or a generation the operator has not observed (even if it was stuck) → Progressing",
  ignore: missing !== undefined,
  async fn() {
    const fresh = await objectAt({ stage: "serving" });
    deepStrictEqual(await health({ ...fresh, status: undefined }), {
      status: "Progressing",
      message: "Waiting for the operator to report",
    });
    const stuck = await objectAt({ stage: "invalidSpec", message: "m" });
    const edited = { ...stuck, metadata: { ...stuck.metadata, generation: 4 } };
    deepStrictEqual(await health(edited), {
      status: "Progressing",
      message: "Waiting for the operator to observe generation 4",
    });
  },
});

Deno.test("argocd-cm-health.yaml carries health.lua unchanged, under the key Argo CD looks up", async () => {
  const cm = parse(await Deno.readTextFile(`${HERE}argocd-cm-health.yaml`));
  deepStrictEqual(Object.keys(cm.data), ["resource.customizations.health.otus.homework_MySQL"]);
  equal(
    cm.data["resource.customizations.health.otus.homework_MySQL"],
    await Deno.readTextFile(`${HERE}health.lua`),
  );
});

Deno.test({
  name:
    "health.lua: a message with quotes before digits, backslashes, newlines and non-ASCII reaches Argo CD unchanged",
  ignore: missing !== undefined,
  async fn() {
    const message = '"1" \\2 \'3\'\nline two: ü ✓ {"a":1}';
    const obj = await objectAt({ stage: "restoreFailed", message });
    const hs = await health(obj);
    equal(hs.status, "Degraded");
    equal(hs.message, `RestoreFailed: restore failed: ${message}`);
  },
});

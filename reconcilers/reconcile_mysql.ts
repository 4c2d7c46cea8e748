/**
 * `reconcileMySQL(ctx, key)`: the one level-triggered reconcile of a MySQL object. It re-reads the object and its
 * children from the cluster's caches (and live where a cache miss proves nothing), never sees what event woke it,
 * makes the cluster match the spec one step at a time (waiting is a requeue, never a blocking loop), and writes
 * status once at the end, only when it changed.
 *
 * Every decision that can start, keep or delete something is a pure function of what was observed, tested by a
 * table: ownership.ts (whose a child is), children.ts `childWrite` (create, apply or leave a child),
 * restore_decision.ts, backup_decision.ts (which Job outcome to record, and what it amounts to),
 * backup_trigger.ts (requested and scheduled backups, BackupReady), final_decision.ts (deletion: whether there is
 * data, back up, wait, keep the volumes or delete the data; the final backup's step), readiness.ts (Ready and
 * phase, nowhere else). The I/O modules observe, call them, and act.
 *
 * A pass acts in this order: (1) the finalizer (added first; on deletion finalize.ts runs instead of 2–4);
 * (2) the children, only when no name is held by someone else; (3) the restore Job; (4) the backup Jobs: one
 * outcome recorded, then a requested or scheduled backup started; (5) conditions, phase and events; (6) the status
 * write, once, when it changed; (7) only after that write succeeded, the deletion of Jobs whose outcome it
 * recorded (so no outcome is lost with its Job).
 *
 * @module
 */
import { ANNOTATIONS, type MySQL, validateMySQL } from "../api/mysql.ts";
import { ApiError } from "../runtime/kube/client.ts";
import type { HandlerResult } from "../runtime/work_queue.ts";
import type { ClusterContext } from "./context.ts";
import { type AfterStatus, settleBackupJobs, startBackup } from "./backups.ts";
import { backupReadyCondition, backupTrigger } from "./backup_trigger.ts";
import { type LiveFacts, liveStage, pausedStage } from "./readiness.ts";
import { finalizer } from "./finalizer.ts";
import { finalize } from "./finalize.ts";
import { applyChildren } from "./apply_children.ts";
import { checkCredentials, checkStoreCredentials } from "./credentials.ts";
import { conflictMessage } from "./ownership.ts";
import { reconcileRestore } from "./restore.ts";
import { settle, StatusBuilder, writeStatus } from "./status.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";

/** How long to wait before looking again at something that has no watch event of its own. */
const RECHECK_MS = 30_000;

/** Reconciles the MySQL object with key `ns/name` in the context's cluster. */
export async function reconcileMySQL(ctx: ClusterContext, key: string): Promise<HandlerResult> {
  const obj = ctx.cache.mysql(key);
  if (!obj) {
    // Gone: owner references let the garbage collector take the children.
    const [namespace, name] = key.split("/");
    ctx.observe?.instanceGone?.(namespace, name);
    return {};
  }
  const sb = new StatusBuilder(obj, ctx.now());
  const after: AfterStatus = [];
  let result: HandlerResult = {};
  let gone = false;
  try {
    result = await finalizer(ctx.client, obj, {
      apply: () => converge(ctx, obj, sb, after),
      cleanup: async () => {
        const r = await finalize(ctx, obj, sb, after);
        gone = r.done;
        return r;
      },
    });
  } catch (err) {
    const { reason, message } = describeError(err);
    const deleting = Boolean(obj.metadata.deletionTimestamp);
    await settle(ctx, obj, sb, { stage: "error", reason, message, deleting }).catch(() => {});
    await writeStatus(ctx.client, obj, sb).catch((e) =>
      ctx.log.warn("status write failed: {error}", { error: e })
    );
    throw err;
  }
  if (!gone) {
    await writeStatus(ctx.client, obj, sb);
    ctx.observe?.instance?.(obj, sb.status);
  } else ctx.observe?.instanceGone?.(obj.metadata.namespace, obj.metadata.name);
  for (const step of after) await step();
  return withResync(ctx, result);
}

/** A periodic resync catches anything a watch missed, even for objects with nothing to wait for. */
function withResync(ctx: ClusterContext, r: HandlerResult): HandlerResult {
  const jitter = Math.round(ctx.options.resyncMs * 0.1 * Math.random());
  const resync = ctx.options.resyncMs + jitter;
  return { requeueAfterMs: Math.min(r.requeueAfterMs ?? resync, resync) };
}

/** A reason and message for an error, naming the refused verb and resource for Forbidden answers. */
export function describeError(err: unknown): { reason: string; message: string } {
  if (err instanceof ApiError) {
    if (err.status === 403) {
      return { reason: REASONS.forbidden, message: `the API server refused ${err.message}` };
    }
    if (err.status === 0) return { reason: REASONS.apiUnreachable, message: err.message };
    return { reason: REASONS.apiError, message: err.message };
  }
  return { reason: REASONS.reconcileError, message: (err as Error)?.message ?? String(err) };
}

/**
 * The object lives. Observe and drive (check the spec and password, write the children, drive the restore, record
 * finished backup Jobs), decide (readiness.ts: Ready and phase; backup_trigger.ts: a backup due now, BackupReady),
 * act (start the backup, set the conditions, send the events).
 */
async function converge(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, after: AfterStatus) {
  const paused = pausedStage(obj.metadata.annotations);
  if (paused) {
    // Hands off: no child, Job or backup is touched; the status says so, and the annotation's removal wakes us.
    await settle(ctx, obj, sb, paused);
    sb.observe();
    return {};
  }
  const facts: LiveFacts = {};
  let requeueAfterMs: number | undefined;
  const v = validateMySQL(obj);
  if (!v.ok) facts.invalidSpec = v.message; // nothing to retry: a spec change wakes us
  else facts.passwordProblem = await checkCredentials(ctx, obj, sb);
  if (facts.passwordProblem !== undefined) requeueAfterMs = ctx.options.secretRecheckMs; // Secrets are not watched
  // mysqld runs without the store's keys; only backups and the restore wait for them.
  const storeProblem = v.ok ? await checkStoreCredentials(ctx, obj) : undefined;
  const seen = v.ok && facts.passwordProblem === undefined ? await applyChildren(ctx, obj, sb) : undefined;
  if (seen?.conflicts.length) {
    // Someone else's object holds a child's name: nothing was written; retried until it goes.
    facts.conflict = conflictMessage(seen.conflicts);
    requeueAfterMs = RECHECK_MS;
  } else if (seen) {
    facts.available = seen.available;
    facts.waitingFor = seen.waitingFor;
    facts.restore = await reconcileRestore(ctx, obj, sb, { ...seen, blocked: storeProblem }, after);
    facts.restoreMessage = sb.status.restore?.message;
    const busy = await settleBackupJobs(ctx, obj, sb, after);
    const restoring = facts.restore === "running" || facts.restore === "waiting";
    // The claim's Bound event wakes the pass that creates the Deployment; the recheck is for a missed one.
    if (busy || seen.waitingFor?.length) requeueAfterMs = RECHECK_MS;
    else if (facts.restore === "waiting" && seen.available) requeueAfterMs = 5_000;
    if (seen.available && seen.host && !restoring && !busy && !storeProblem) {
      const trigger = backupTrigger({
        requested: obj.metadata.annotations?.[ANNOTATIONS.backupNow],
        handled: sb.status.backupNowHandled,
        migrateRequested: obj.metadata.annotations?.[ANNOTATIONS.migrateBackup],
        migrateHandled: sb.status.migrateBackupHandled,
        schedule: obj.spec.backup?.schedule,
        createdMs: Date.parse(obj.metadata.creationTimestamp ?? "") || 0,
        lastSlotMs: Date.parse(sb.status.lastScheduledSlot ?? "") || 0,
        nowMs: ctx.now().getTime(),
      });
      if (trigger.due) {
        Object.assign(sb.status, trigger.due.status);
        await startBackup(ctx, obj, trigger.due.reason, trigger.due.token, seen.host);
      }
      requeueAfterMs = trigger.recheckMs;
    }
    await reportSchedule(ctx, obj, sb);
    if (storeProblem) {
      await reportStoreProblem(ctx, obj, sb, storeProblem);
      requeueAfterMs = ctx.options.secretRecheckMs;
    }
  }
  await settle(ctx, obj, sb, liveStage(facts));
  sb.observe();
  return { requeueAfterMs };
}

/**
 * `BackupReady=False StoreCredentialsMissing` while the object store's Secret cannot serve a Job (a backup due
 * meanwhile starts once it can), with a Warning when that begins or its message changes.
 */
async function reportStoreProblem(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, problem: string) {
  const message = `no backup can run: ${problem}`;
  const before = obj.status?.conditions?.find((c) => c.type === CONDITIONS.backupReady);
  sb.set(CONDITIONS.backupReady, "False", REASONS.storeCredentialsMissing, message);
  if (before?.reason !== REASONS.storeCredentialsMissing || before.message !== message) {
    await ctx.events.emit(obj, "Warning", REASONS.storeCredentialsMissing, message);
  }
}

/** Sets `BackupReady` as the schedule and the recorded outcomes make it (backup_trigger.ts), with its Warning. */
export async function reportSchedule(
  ctx: Pick<ClusterContext, "events">,
  obj: MySQL,
  sb: StatusBuilder,
): Promise<void> {
  const { condition, warning } = backupReadyCondition(obj.spec.backup?.schedule, sb.status);
  if (condition) sb.set(condition.type, condition.status, condition.reason, condition.message);
  if (warning) await ctx.events.emit(obj, "Warning", REASONS.invalidSchedule, warning);
}

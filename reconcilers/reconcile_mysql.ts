/**
 * `reconcileMySQL(ctx, key)`: the one level-triggered reconcile of a MySQL object. It re-reads the object and its
 * children from the cluster's caches, never sees what event woke it, makes the cluster match the spec one step at a
 * time (waiting is a requeue, never a blocking loop), and writes status once at the end, only when it changed.
 *
 * @module
 */
import { ANNOTATIONS, type MySQL, validateMySQL } from "../api/mysql.ts";
import { ApiError } from "../runtime/kube/client.ts";
import type { HandlerResult } from "../runtime/work_queue.ts";
import type { ClusterContext } from "./context.ts";
import { type AfterStatus, settleBackupJobs, startBackup } from "./backups.ts";
import { finalizer } from "./finalizer.ts";
import { finalize } from "./finalize.ts";
import { applyChildren } from "./apply_children.ts";
import { checkCredentials } from "./credentials.ts";
import { conflictMessage } from "./ownership.ts";
import { reconcileRestore } from "./restore.ts";
import { nextSlot, parseCron, previousSlot } from "./cron.ts";
import { StatusBuilder, writeStatus } from "./status.ts";
import { CONDITIONS, PHASES, REASONS } from "../api/status.ts";

/** How long to wait before looking again at something that has no watch event of its own. */
const RECHECK_MS = 30_000;

/** Reconciles the MySQL object with key `ns/name` in the context's cluster. */
export async function reconcileMySQL(ctx: ClusterContext, key: string): Promise<HandlerResult> {
  const obj = ctx.cache.mysql(key);
  if (!obj) return {}; // gone: owner references let the garbage collector take the children
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
    sb.set(CONDITIONS.ready, "False", reason, message);
    sb.status.phase = obj.metadata.deletionTimestamp ? PHASES.deleting : PHASES.failed;
    await ctx.events.emit(obj, "Warning", reason, message).catch(() => {});
    await writeStatus(ctx.client, obj, sb).catch((e) =>
      ctx.log.warn("status write failed: {error}", { error: e })
    );
    throw err;
  }
  if (!gone) await writeStatus(ctx.client, obj, sb);
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

/** The object lives: converge children, restore once, run requested and scheduled backups. */
async function converge(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, after: AfterStatus) {
  const v = validateMySQL(obj);
  if (!v.ok) {
    sb.set(CONDITIONS.ready, "False", REASONS.invalidSpec, v.message);
    sb.status.phase = PHASES.failed;
    sb.observe();
    await ctx.events.emit(obj, "Warning", REASONS.invalidSpec, v.message);
    return {}; // nothing to retry: a spec change wakes us
  }
  const problem = await checkCredentials(ctx, obj, sb);
  if (problem) {
    sb.set(CONDITIONS.ready, "False", REASONS.passwordSecretNotFound, problem);
    sb.status.phase = PHASES.failed;
    sb.observe();
    await ctx.events.emit(obj, "Warning", REASONS.passwordSecretNotFound, problem);
    return { requeueAfterMs: ctx.options.secretRecheckMs }; // Secrets are not watched
  }

  const seen = await applyChildren(ctx, obj, sb);
  if (seen.conflicts.length) {
    // Someone else's object holds a child's name: nothing was written; retried until it goes.
    const msg = conflictMessage(seen.conflicts);
    sb.set(CONDITIONS.ready, "False", REASONS.nameConflict, msg);
    sb.status.phase = PHASES.failed;
    sb.observe();
    await ctx.events.emit(obj, "Warning", REASONS.nameConflict, msg);
    return { requeueAfterMs: RECHECK_MS };
  }
  const restore = await reconcileRestore(ctx, obj, sb, seen, after);
  const busy = await settleBackupJobs(ctx, obj, sb, after);
  let requeueAfterMs: number | undefined = busy
    ? RECHECK_MS
    : restore === "waiting" && seen.available
    ? 5_000
    : undefined;
  if (seen.available && seen.host && restore !== "running" && restore !== "waiting" && !busy) {
    requeueAfterMs = await maybeStartBackup(ctx, obj, sb, seen.host);
  }
  if (sb.status.lastBackupTime === undefined && sb.status.lastBackupFailure === undefined) {
    sb.set(CONDITIONS.backupReady, "Unknown", REASONS.noBackupYet, "no backup has been taken yet");
  }
  await reportSchedule(ctx, obj, sb);

  const wasReady = obj.status?.conditions?.find((c) => c.type === CONDITIONS.ready)?.status === "True";
  if (!seen.available) {
    sb.set(
      CONDITIONS.ready,
      "False",
      REASONS.mysqlNotReady,
      "waiting for the mysqld Deployment to become available",
    );
    sb.status.phase = PHASES.provisioning;
  } else if (restore === "waiting" || restore === "running") {
    sb.set(CONDITIONS.ready, "False", REASONS.restoring, "restoring the newest backup of this instance");
    sb.status.phase = PHASES.restoring;
  } else if (restore === "failed") {
    sb.set(
      CONDITIONS.ready,
      "False",
      REASONS.restoreFailed,
      `restore failed: ${sb.status.restore?.message ?? ""}`,
    );
    sb.status.phase = PHASES.restoreFailed;
  } else {
    sb.set(CONDITIONS.ready, "True", REASONS.available, "mysqld is serving");
    sb.status.phase = PHASES.ready;
    if (!wasReady) await ctx.events.emit(obj, "Normal", REASONS.ready, "mysqld is serving");
  }
  sb.observe();
  return { requeueAfterMs };
}

/** Starts a requested or scheduled backup when one is due. Returns when to look again for the schedule. */
async function maybeStartBackup(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, host: string) {
  const requested = obj.metadata.annotations?.[ANNOTATIONS.backupNow];
  if (requested && requested !== sb.status.backupNowHandled) {
    sb.status.backupNowHandled = requested;
    await startBackup(ctx, obj, "manual", requested, host);
    return RECHECK_MS;
  }
  const schedule = obj.spec.backup?.schedule;
  if (!schedule) return undefined;
  let cron;
  try {
    cron = parseCron(schedule);
  } catch {
    return undefined; // said by reportSchedule
  }
  const now = ctx.now();
  const slot = previousSlot(cron, now);
  const created = Date.parse(obj.metadata.creationTimestamp ?? "") || 0;
  const last = Date.parse(sb.status.lastScheduledSlot ?? "") || 0;
  if (slot && slot.getTime() > created && slot.getTime() > last) {
    sb.status.lastScheduledSlot = slot.toISOString();
    await startBackup(ctx, obj, "scheduled", slot.toISOString(), host);
    return RECHECK_MS;
  }
  const next = nextSlot(cron, now);
  return next ? Math.max(1000, next.getTime() - now.getTime() + 500) : undefined;
}

/**
 * A schedule cron cannot read (the CRD's pattern checks only its shape; an object may predate the pattern) takes no
 * scheduled backup: `BackupReady=False` with reason `InvalidSchedule` and a Warning event say so on every pass,
 * whether or not mysqld is up (requested and final backups still run). Once the schedule is fixed, the condition
 * tells the last backup's outcome again.
 */
export async function reportSchedule(
  ctx: Pick<ClusterContext, "events">,
  obj: MySQL,
  sb: StatusBuilder,
): Promise<void> {
  const schedule = obj.spec.backup?.schedule;
  let problem: string | undefined;
  try {
    if (schedule) parseCron(schedule);
  } catch (err) {
    problem = `no scheduled backups: ${(err as Error).message}`;
  }
  if (problem) {
    sb.set(CONDITIONS.backupReady, "False", REASONS.invalidSchedule, problem);
    await ctx.events.emit(obj, "Warning", REASONS.invalidSchedule, problem);
    return;
  }
  if (sb.get(CONDITIONS.backupReady)?.reason !== REASONS.invalidSchedule) return;
  const failedAt = Date.parse(sb.status.lastBackupFailure?.time ?? "") || 0;
  const succeededAt = Date.parse(sb.status.lastBackupTime ?? "") || 0;
  if (failedAt > succeededAt) {
    const f = sb.status.lastBackupFailure!;
    sb.set(
      CONDITIONS.backupReady,
      "False",
      REASONS.backupFailed,
      `the last backup failed: ${f.reason}: ${f.message ?? ""}`,
    );
  } else {
    sb.set(
      CONDITIONS.backupReady,
      "True",
      REASONS.backupSucceeded,
      `backup ${sb.status.lastBackup ?? ""} succeeded`,
    );
  }
}

/**
 * `Ready` and `phase` of a MySQL object, decided in one place: a pure function from where the pass stands (a
 * {@linkcode Stage}) to the condition, the phase and the event that says so. No other code sets either, so every
 * phase and Ready transition is a row of the table in readiness_test.ts.
 *
 * @module
 */
import { type Phase, PHASES, REASONS } from "../api/status.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import type { RestoreProgress } from "./restore_decision.ts";

/** Where one pass left the object, most urgent first as {@linkcode liveStage} picks it. */
export type Stage =
  /** The spec fails run-time validation (an object from before the CRD's rules, or an older CRD). */
  | { stage: "invalidSpec"; message: string }
  /** The Secret `passwordSecretRef` names is missing or lacks its key. */
  | { stage: "passwordMissing"; message: string }
  /** A child's name is held by an object that is not this MySQL's: nothing was written. */
  | { stage: "nameConflict"; message: string }
  /** mysqld is not available yet; `waitingFor`: claims its first Deployment waits to see Bound. */
  | { stage: "provisioning"; waitingFor?: string[] }
  /** mysqld serves; the restore at first creation waits or runs. */
  | { stage: "restoring" }
  /** mysqld serves; the restore failed (not retried by itself). */
  | { stage: "restoreFailed"; message: string }
  /** mysqld serves and the restore, if any, has finished. */
  | { stage: "serving" }
  /** The `otus.homework/reconcile` annotation pauses the instance: nothing was looked at or changed. */
  | { stage: "paused"; message: string }
  /** The object is being deleted: the final backup's step, told by one of the deletion reasons. */
  | { stage: "deleting"; reason: DeletionReason; message: string }
  /** The pass failed (an API error, a refusal): said with the error's reason. */
  | { stage: "error"; reason: string; message: string; deleting: boolean };

/** Reasons of `Ready=False` while the object is being deleted. */
export type DeletionReason =
  | typeof REASONS.finalBackupRunning
  | typeof REASONS.finalBackupWaiting
  | typeof REASONS.finalBackupFailed
  | typeof REASONS.finalBackupBlocked
  | typeof REASONS.nameConflict;

/** A condition's value as a stage sets it. */
export interface ConditionValue {
  status: "True" | "False";
  reason: string;
  message: string;
}

/** The status a stage amounts to, and the event that tells it (if any). */
export interface Readiness {
  phase: Phase;
  /** Left out while paused: the operator did not look, so Ready stays as it last knew it. */
  ready?: ConditionValue;
  /**
   * `Reconciling` and `Stalled` (kstatus' abnormal-true pair, which Flux and the Argo CD health check read):
   * True only when the object is on its way (Reconciling) or cannot progress without a change by someone
   * (Stalled); never both. Both carry the stage's reason and message, so the three conditions agree.
   */
  reconciling: ConditionValue;
  stalled: ConditionValue;
  event?: { type: "Normal" | "Warning"; reason: string; message: string };
}

/** Where a stage leaves progress: on its way, stuck until someone changes something, or done. */
export type Progress = "reconciling" | "stalled" | "settled" | "paused";

/**
 * Progress of a stage. Stalled is what the operator cannot fix by trying again: an invalid spec, a missing
 * password Secret, a name held by another app, a failed restore (not retried by itself), a final backup blocked,
 * a refusal (RBAC). Everything else that is not serving is on its way: waits, Jobs, errors retried with backoff.
 */
export function progressOf(s: Stage): Progress {
  switch (s.stage) {
    case "invalidSpec":
    case "passwordMissing":
    case "nameConflict":
    case "restoreFailed":
      return "stalled";
    case "provisioning":
    case "restoring":
      return "reconciling";
    case "serving":
      return "settled";
    case "paused":
      return "paused";
    case "deleting":
      return s.reason === REASONS.finalBackupBlocked || s.reason === REASONS.nameConflict
        ? "stalled"
        : "reconciling";
    case "error":
      return s.reason === REASONS.forbidden ? "stalled" : "reconciling";
  }
}

/**
 * What a stage means for `Ready` and `phase`. `wasReady` (the object's Ready before this pass) makes the `Ready`
 * event fire once per transition, not on every pass. Warnings go out for what a user must fix; a deletion that
 * only waits says so in the condition alone.
 */
export function readiness(s: Stage, wasReady: boolean): Readiness {
  if (s.stage === "paused") {
    const off: ConditionValue = { status: "False", reason: REASONS.paused, message: s.message };
    return { phase: PHASES.paused, reconciling: off, stalled: off };
  }
  const r = readyAndPhase(s, wasReady);
  const p = progressOf(s);
  const flag = (on: boolean): ConditionValue => ({ ...r.ready, status: on ? "True" : "False" });
  return { ...r, reconciling: flag(p === "reconciling"), stalled: flag(p === "stalled") };
}

/** Whether the `otus.homework/reconcile` annotation pauses the object, and what the status says about it. */
export function pausedStage(annotations: Record<string, string> | undefined): Stage | undefined {
  const v = annotations?.[ANNOTATIONS.reconcile];
  if (v === undefined || v === "active") return undefined;
  const how = v === "paused"
    ? `paused by ${ANNOTATIONS.reconcile}=paused`
    : `paused: ${ANNOTATIONS.reconcile}=${
      JSON.stringify(v.slice(0, 64))
    } is not understood ("paused" or "active")`;
  return {
    stage: "paused",
    message: `${how}; nothing is changed until it goes (a deletion still takes the final backup first)`,
  };
}

function readyAndPhase(
  s: Exclude<Stage, { stage: "paused" }>,
  wasReady: boolean,
): Omit<Readiness, "reconciling" | "stalled"> & { ready: ConditionValue } {
  const notReady = (phase: Phase, reason: string, message: string, warn = false) => ({
    phase,
    ready: { status: "False" as const, reason, message },
    ...(warn ? { event: { type: "Warning" as const, reason, message } } : {}),
  });
  switch (s.stage) {
    case "invalidSpec":
      return notReady(PHASES.failed, REASONS.invalidSpec, s.message, true);
    case "passwordMissing":
      return notReady(PHASES.failed, REASONS.passwordSecretNotFound, s.message, true);
    case "nameConflict":
      return notReady(PHASES.failed, REASONS.nameConflict, s.message, true);
    case "provisioning":
      return notReady(
        PHASES.provisioning,
        REASONS.mysqlNotReady,
        s.waitingFor?.length
          ? `waiting for claim ${s.waitingFor.join(", ")} to bind to the volume the operator made; ` +
            "the mysqld Deployment is created then"
          : "waiting for the mysqld Deployment to become available",
      );
    case "restoring":
      return notReady(PHASES.restoring, REASONS.restoring, "restoring the newest backup of this instance");
    case "restoreFailed":
      return notReady(PHASES.restoreFailed, REASONS.restoreFailed, `restore failed: ${s.message}`);
    case "serving":
      return {
        phase: PHASES.ready,
        ready: { status: "True", reason: REASONS.available, message: "mysqld is serving" },
        ...(wasReady
          ? {}
          : { event: { type: "Normal", reason: REASONS.ready, message: "mysqld is serving" } }),
      };
    case "deleting":
      return notReady(
        PHASES.deleting,
        s.reason,
        s.message,
        s.reason === REASONS.finalBackupBlocked || s.reason === REASONS.nameConflict,
      );
    case "error":
      return notReady(s.deleting ? PHASES.deleting : PHASES.failed, s.reason, s.message, true);
  }
}

/** What a live object's pass found, in the order it finds it. */
export interface LiveFacts {
  /** Why the spec is invalid, if it is. */
  invalidSpec?: string;
  /** Why the password cannot be read, if it cannot. */
  passwordProblem?: string;
  /** Which children are held by others, if any (nothing was written then). */
  conflict?: string;
  /** The mysqld Deployment is available (and was not changed by this pass). */
  available?: boolean;
  /** Claims the first mysqld Deployment waits for (reconcilers/children.ts `claimsToWaitFor`). */
  waitingFor?: string[];
  /** Where the restore stands. */
  restore?: RestoreProgress;
  /** `status.restore.message`, for a failed restore. */
  restoreMessage?: string;
}

/** The stage of a live object: the first problem found wins; a serving mysqld waits for its restore. */
export function liveStage(f: LiveFacts): Stage {
  if (f.invalidSpec !== undefined) return { stage: "invalidSpec", message: f.invalidSpec };
  if (f.passwordProblem !== undefined) return { stage: "passwordMissing", message: f.passwordProblem };
  if (f.conflict !== undefined) return { stage: "nameConflict", message: f.conflict };
  if (!f.available) {
    return f.waitingFor?.length
      ? { stage: "provisioning", waitingFor: f.waitingFor }
      : { stage: "provisioning" };
  }
  if (f.restore === "waiting" || f.restore === "running") return { stage: "restoring" };
  if (f.restore === "failed") return { stage: "restoreFailed", message: f.restoreMessage ?? "" };
  return { stage: "serving" };
}

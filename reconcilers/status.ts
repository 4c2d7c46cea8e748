/**
 * Status of a MySQL object, built up during one reconcile pass and written once at its end, and only when it
 * changed (so an idle operator writes nothing).
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import type { Condition, MySQL, MySQLStatus } from "../api/mysql.ts";
import type { KubeClient } from "../runtime/kube/client.ts";
import { isStatus } from "../runtime/kube/client.ts";
import { FIELD_MANAGER } from "../api/mysql.ts";
import { CONDITIONS } from "../api/status.ts";
import type { ClusterContext } from "./context.ts";
import { readiness, type Stage } from "./readiness.ts";
import { objectPath } from "../runtime/kube/resources.ts";
import { byCodeUnits } from "../runtime/order.ts";
import { jsonEqual } from "../runtime/json_equal.ts";

/**
 * Longest message the operator writes into status (conditions, last backup failure, restore). Messages carry
 * text from outside (a Job's termination message, an API error): unbounded, one could exceed the CRD's
 * `maxLength` and make every status write fail, or make the object large.
 */
export const MAX_STATUS_MESSAGE = 1024;

/** `message` cut to {@link MAX_STATUS_MESSAGE} characters, saying that it was cut. */
export function capMessage(message: string, max = MAX_STATUS_MESSAGE): string {
  if (message.length <= max) return message;
  const suffix = ` … (cut: ${message.length} characters)`;
  let end = max - suffix.length;
  // Never split a surrogate pair: the API server would store U+FFFD and the status would differ on every pass.
  if (/[\uD800-\uDBFF]/.test(message[end - 1])) end--;
  return message.slice(0, end) + suffix;
}

/** The status with every message capped (what is compared and written: never more than the CRD allows). */
export function boundStatus(status: MySQLStatus): MySQLStatus {
  const out: MySQLStatus = { ...status };
  if (out.conditions) out.conditions = out.conditions.map((c) => ({ ...c, message: capMessage(c.message) }));
  if (out.lastBackupFailure?.message !== undefined) {
    out.lastBackupFailure = { ...out.lastBackupFailure, message: capMessage(out.lastBackupFailure.message) };
  }
  if (out.restore?.message !== undefined) {
    out.restore = { ...out.restore, message: capMessage(out.restore.message) };
  }
  return out;
}

/** Mutable status of one pass. Starts from the object's current status. */
export class StatusBuilder {
  readonly status: MySQLStatus;
  readonly #generation: number | undefined;
  readonly #now: string;
  /** The status the object had: the cache's, never written to (the pass works on a copy). */
  readonly #before: MySQLStatus;

  /** Starts from the object's current status. */
  constructor(obj: MySQL, now: Date) {
    this.status = structuredClone(obj.status ?? {});
    this.#generation = obj.metadata.generation;
    this.#now = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    this.#before = obj.status ?? {};
  }

  /** The pass's time, RFC 3339 without fractions. */
  get now(): string {
    return this.#now;
  }

  /** Sets a condition; the transition time moves only when the status value changes. */
  set(type: string, status: Condition["status"], reason: string, message: string): void {
    const list = this.status.conditions ?? [];
    const old = list.find((c) => c.type === type);
    const next: Condition = {
      type,
      status,
      reason,
      message,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : this.#now,
      ...(this.#generation !== undefined ? { observedGeneration: this.#generation } : {}),
    };
    this.status.conditions = [...list.filter((c) => c.type !== type), next].sort((a, b) =>
      byCodeUnits(a.type, b.type)
    );
  }

  /** Removes a condition. */
  remove(type: string): void {
    if (!this.status.conditions) return;
    this.status.conditions = this.status.conditions.filter((c) => c.type !== type);
  }

  /** A condition by type. */
  get(type: string): Condition | undefined {
    return this.status.conditions?.find((c) => c.type === type);
  }

  /** Marks the spec as observed (only at the end of a pass that acted on it). */
  observe(): void {
    if (this.#generation !== undefined) this.status.observedGeneration = this.#generation;
  }

  /** Whether anything differs from what the object had. */
  get changed(): boolean {
    return !jsonEqual(boundStatus(this.status), this.#before);
  }
}

/**
 * Writes the status with a merge patch on the status subresource, when it changed. Fields that disappeared are
 * sent as null. A deleted object is not an error.
 */
export async function writeStatus(client: KubeClient, obj: MySQL, builder: StatusBuilder): Promise<boolean> {
  if (!builder.changed) return false;
  const patch: Record<string, unknown> = { ...boundStatus(builder.status) };
  for (const k of Object.keys(obj.status ?? {})) if (!(k in patch)) patch[k] = null;
  try {
    await client.mergePatch(
      objectPath(MYSQL_RESOURCE, obj.metadata.namespace, obj.metadata.name) + "/status",
      { status: patch },
      FIELD_MANAGER,
    );
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw err;
  }
  return true;
}

/** Sets Ready and phase as the stage makes them, and sends the event that tells it. */
export async function settle(
  ctx: Pick<ClusterContext, "events">,
  obj: MySQL,
  sb: StatusBuilder,
  stage: Stage,
): Promise<void> {
  const wasReady = obj.status?.conditions?.find((c) => c.type === CONDITIONS.ready)?.status === "True";
  const r = readiness(stage, wasReady);
  if (r.ready) sb.set(CONDITIONS.ready, r.ready.status, r.ready.reason, r.ready.message);
  sb.set(CONDITIONS.reconciling, r.reconciling.status, r.reconciling.reason, r.reconciling.message);
  sb.set(CONDITIONS.stalled, r.stalled.status, r.stalled.reason, r.stalled.message);
  sb.status.phase = r.phase;
  if (r.event) await ctx.events.emit(obj, r.event.type, r.event.reason, r.event.message);
}

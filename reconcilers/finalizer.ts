/**
 * The finalizer helper (after kube-rs's `finalizer`): `apply` runs while the object lives and our finalizer is on
 * it; `cleanup` runs once it is being deleted, and the finalizer comes off only when cleanup says it is done.
 * List edits use JSON patch with a `test` of the current list, so another controller's finalizer is never lost;
 * a stale cache makes the patch fail and the pass retry.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { FIELD_MANAGER, FINALIZER, type MySQL } from "../api/mysql.ts";
import type { KubeClient } from "../runtime/kube/client.ts";
import { isStatus } from "../runtime/kube/client.ts";
import { objectPath } from "../runtime/kube/resources.ts";
import type { HandlerResult } from "../runtime/work_queue.ts";

/** Outcome of a cleanup step. */
export interface CleanupResult extends HandlerResult {
  /** True when nothing guarded by the finalizer remains. */
  done: boolean;
}

/** The two halves of a finalizer-guarded reconcile. */
export interface FinalizerHandlers {
  apply(): Promise<HandlerResult>;
  cleanup(): Promise<CleanupResult>;
}

function path(obj: MySQL): string {
  return objectPath(MYSQL_RESOURCE, obj.metadata.namespace, obj.metadata.name);
}

/** Adds our finalizer (no-op when present). */
export async function addFinalizer(client: KubeClient, obj: MySQL): Promise<void> {
  const list = obj.metadata.finalizers;
  if (list?.includes(FINALIZER)) return;
  const ops = list
    ? [{ op: "test", path: "/metadata/finalizers", value: list }, {
      op: "add",
      path: "/metadata/finalizers/-",
      value: FINALIZER,
    }]
    : [{ op: "test", path: "/metadata/resourceVersion", value: obj.metadata.resourceVersion }, {
      op: "add",
      path: "/metadata/finalizers",
      value: [FINALIZER],
    }];
  await client.jsonPatch(path(obj), ops, FIELD_MANAGER);
}

/** Removes our finalizer (no-op when absent or when the object is gone). */
export async function removeFinalizer(client: KubeClient, obj: MySQL): Promise<void> {
  const list = obj.metadata.finalizers ?? [];
  const i = list.indexOf(FINALIZER);
  if (i < 0) return;
  try {
    await client.jsonPatch(path(obj), [
      { op: "test", path: `/metadata/finalizers/${i}`, value: FINALIZER },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ], FIELD_MANAGER);
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

/** Runs `apply` or `cleanup` as the object's state asks, managing the finalizer. */
export async function finalizer(
  client: KubeClient,
  obj: MySQL,
  h: FinalizerHandlers,
): Promise<HandlerResult> {
  if (obj.metadata.deletionTimestamp) {
    if (!obj.metadata.finalizers?.includes(FINALIZER)) return {};
    const result = await h.cleanup();
    if (result.done) {
      await removeFinalizer(client, obj);
      return {};
    }
    return { requeueAfterMs: result.requeueAfterMs };
  }
  await addFinalizer(client, obj);
  return await h.apply();
}

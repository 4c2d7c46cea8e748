/**
 * The error policy (after kube-rs's `error_policy`): how long a key waits after a failed reconcile. Separate from the
 * reconcile so that backoff is one decision in one place.
 *
 * @module
 */
import { ApiError } from "../runtime/kube/client.ts";
import { backoffDelay } from "../runtime/backoff.ts";

/** Backoff bounds per kind of failure. */
export const RETRY = {
  /** Conflicts and stale caches resolve fast. */
  conflict: { baseMs: 200, maxMs: 5_000 },
  /** Everything else: 1 s doubling to 5 min. */
  default: { baseMs: 1_000, maxMs: 300_000 },
} as const;

/** Delay before retrying `key` after its `failures`-th failure in a row. */
export function errorPolicy(_key: string, err: unknown, failures: number): number {
  const conflict = err instanceof ApiError &&
    (err.status === 409 || err.status === 422 && /test/i.test(err.message));
  return backoffDelay(failures, conflict ? RETRY.conflict : RETRY.default);
}

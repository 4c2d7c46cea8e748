/**
 * Exponential backoff with full jitter, shared by the work queue's error policy and reconnecting watches.
 *
 * @module
 */

/** Backoff settings in milliseconds. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before attempt `failures` (1 = first retry): base·2^(failures-1), capped, with jitter in
 * [50 %, 100 %] so that many clients retrying after one outage do not arrive together.
 */
export function backoffDelay(
  failures: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = opts.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30));
  const capped = Math.min(exp, opts.maxMs);
  return Math.round(capped * (0.5 + random() * 0.5));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * "Object not progressing": a periodic look over the reconciled objects' cache for those whose state says a pass is
 * due that has not happened (for the MySQL controller: its Deployment is Available but its status still says it waits
 * for mysqld). A level-triggered operator should never leave such an object for long; if it does, a wake-up was lost
 * or the queue is stuck. The age of the oldest one is a metric; an object late by the threshold is logged once per
 * threshold and queued again, so a lost wake-up costs one threshold, not forever.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { KubeObject } from "./kube/client.ts";
import { keyOf } from "./kube/resources.ts";

/** Settings of a check. */
export interface ProgressCheckOptions {
  /** True when the object's state says a pass is due. */
  due(obj: KubeObject): boolean;
  /** How long a due object may wait before it is reported and queued again. */
  thresholdMs: number;
  /** Called for an object due for `ageMs` >= the threshold (again every threshold while it stays due). */
  onLate(key: string, ageMs: number): void;
}

/** The state of the check: since when each due object has been due (only objects due now are kept). */
export class ProgressCheck {
  readonly #opts: ProgressCheckOptions;
  readonly #since = new Map<string, number>();
  readonly #reported = new Map<string, number>();

  /** A check with these settings; {@linkcode tick} looks once. */
  constructor(opts: ProgressCheckOptions) {
    this.#opts = opts;
  }

  /** Looks at every object once at `now` (ms, any monotonic clock); returns the age in ms of the oldest due object (0: none). */
  tick(objects: Iterable<KubeObject>, now: number): number {
    const { due, thresholdMs, onLate } = this.#opts;
    const seen = new Set<string>();
    let oldest = 0;
    for (const o of objects) {
      if (!due(o)) continue;
      const key = keyOf(o);
      seen.add(key);
      const since = this.#since.get(key) ?? now;
      this.#since.set(key, since);
      const age = now - since;
      oldest = Math.max(oldest, age);
      if (age >= thresholdMs && now - (this.#reported.get(key) ?? -Infinity) >= thresholdMs) {
        this.#reported.set(key, now);
        onLate(key, age);
      }
    }
    for (const key of this.#since.keys()) {
      if (!seen.has(key)) {
        this.#since.delete(key);
        this.#reported.delete(key);
      }
    }
    return oldest;
  }

  /** Objects due now (for tests and health). */
  get due(): number {
    return this.#since.size;
  }
}

/** How long a due object may wait before it is reported and queued again. */
export const PASS_DUE_THRESHOLD_MS = 60_000;
/** How often the cache is looked over (a list of the cached objects: no request). */
export const PROGRESS_CHECK_EVERY_MS = 5_000;

/** Runs `check` over `list()` every {@linkcode PROGRESS_CHECK_EVERY_MS} until `signal` aborts; `report` gets seconds. */
export function runProgressCheck(
  check: ProgressCheck,
  list: () => KubeObject[] | undefined,
  report: (oldestSeconds: number | undefined) => void,
  signal: AbortSignal,
): void {
  const timer = setInterval(() => {
    // undefined: not reconciling here now (not leading, paused); forget what was due, so a return to leading starts
    // every age from zero. The monotonic clock: a VM whose wall clock steps ahead would make every object late.
    const objects = list();
    const oldest = check.tick(objects ?? [], performance.now());
    report(objects ? oldest / 1000 : undefined);
  }, PROGRESS_CHECK_EVERY_MS);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}

/** A check that logs an object late by {@linkcode PASS_DUE_THRESHOLD_MS} and queues it again. */
export function passDueCheck(
  due: (obj: KubeObject) => boolean,
  log: Logger,
  enqueue: (key: string) => void,
): ProgressCheck {
  return new ProgressCheck({
    due,
    thresholdMs: PASS_DUE_THRESHOLD_MS,
    onLate: (key, ageMs) => {
      const [namespace, name] = key.split("/");
      log.with({ namespace, name }).warn(
        "not progressing: a pass has been due for {seconds} s; queued again",
        {
          seconds: Math.round(ageMs / 1000),
        },
      );
      enqueue(key);
    },
  });
}

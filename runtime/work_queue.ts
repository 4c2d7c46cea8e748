/**
 * A keyed work queue: a key is never processed by two workers at once (per-object serial work), different keys run
 * concurrently up to a limit, a key added while it is being processed runs once more afterwards, and delayed
 * re-adds (requeue after a wait, backoff after an error) wait on a timer, never in a blocked worker: one timer
 * per queue, set for the earliest due key. A timer per key was 900 timers at 3 x 300 objects, with their closures
 * 0.4 MB of the idle operator's heap (README, "One timer per work queue").
 *
 * @module
 */

/** What a handler asks for after processing a key. */
export interface HandlerResult {
  /** Process the key again after this many milliseconds (a wait for a Job, for mysqld, a schedule slot). */
  requeueAfterMs?: number;
}

/** Processes one key. A throw goes to the error policy. */
export type Handler = (key: string) => Promise<HandlerResult | void>;

/** Decides the delay after a failure (the `failures`-th in a row for this key). */
export type ErrorPolicy = (key: string, err: unknown, failures: number) => number;

/** Queue settings. */
export interface WorkQueueOptions {
  concurrency: number;
  handler: Handler;
  errorPolicy: ErrorPolicy;
  /** Observes every processed key (metrics, logs). */
  onDone?: (key: string, seconds: number, err?: unknown) => void;
}

/**
 * Passes at once in one cluster when a process serves `clusters` of them: `total` (the process's budget) split
 * evenly, at most `perCluster`, and at least 2 so that every cluster moves beside one slow pass. Each cluster keeps
 * a share of its own, so a slow or dead cluster never takes another's. In-flight passes are what a burst costs in
 * memory (their requests, responses and rendered objects), so the budget, not the cluster count, bounds it.
 */
export function clusterConcurrency(perCluster: number, total: number, clusters: number): number {
  if (clusters <= 0) return perCluster;
  return Math.min(perCluster, Math.max(2, Math.floor(total / clusters)));
}

/** The queue. */
export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  /** Delayed keys and when each is due (`performance.now()` time). */
  readonly #due = new Map<string, number>();
  /** The one timer, and when it fires (Infinity when none is set). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  readonly #failures = new Map<string, number>();
  #paused = true;
  #closed = false;
  #idleWaiters: Array<() => void> = [];

  /** Creates a paused queue; {@linkcode resume} starts processing. */
  constructor(opts: WorkQueueOptions) {
    this.#opts = { ...opts }; // its own copy: setConcurrency changes it
  }

  /** Keys waiting to run (not counting delayed ones). */
  get depth(): number {
    return this.#ready.length;
  }

  /** Changes how many keys run at once; lowered, the keys running now finish and no new one starts meanwhile. */
  setConcurrency(n: number): void {
    this.#opts.concurrency = n;
    this.#pump();
  }

  /** How many keys may run at once. */
  get concurrency(): number {
    return this.#opts.concurrency;
  }

  /** Keys being processed now. */
  get active(): number {
    return this.#active.size;
  }

  /** Keys waiting on a timer. */
  get delayed(): number {
    return this.#due.size;
  }

  /** Adds a key to run as soon as a worker is free. */
  add(key: string): void {
    if (this.#closed) return;
    // The timer stays set while other keys wait (when it fires it finds this one gone); with none, it goes.
    if (this.#due.delete(key) && this.#due.size === 0) this.#disarm();
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#ready.push(key);
    this.#pump();
  }

  /** Adds a key after a delay; an earlier pending delay wins. */
  addAfter(key: string, ms: number): void {
    if (this.#closed) return;
    const at = performance.now() + Math.max(0, ms);
    const existing = this.#due.get(key);
    if (existing !== undefined && existing <= at) return;
    this.#due.set(key, at);
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Sets the one timer to fire at `at` (replacing a later one). */
  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  /** Clears the one timer. */
  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * Adds every key now due, earliest first (a timer that fires late finds several due), and sets the timer for
   * the earliest of the rest.
   */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    const due: Array<[string, number]> = [];
    for (const entry of this.#due) {
      if (entry[1] <= now) due.push(entry);
      else if (entry[1] < next) next = entry[1];
    }
    due.sort((a, b) => a[1] - b[1]);
    for (const [key] of due) this.add(key);
    if (next < this.#timerAt) this.#arm(next);
  }

  /** Stops starting new work (in-flight work finishes). Used when the lease is lost and on shutdown. */
  pause(): void {
    this.#paused = true;
  }

  /** Starts or resumes processing. */
  resume(): void {
    if (this.#closed) return;
    this.#paused = false;
    this.#pump();
  }

  /** Whether the queue is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Pauses, drops timers and resolves when in-flight work has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#paused = true;
    this.#disarm();
    this.#due.clear();
    await this.idle();
  }

  /** Resolves when no key is being processed. */
  idle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (!this.#paused && this.#active.size < this.#opts.concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#process(key);
    }
  }

  async #process(key: string): Promise<void> {
    const started = performance.now();
    let delay: number | undefined;
    try {
      const result = await this.#opts.handler(key);
      this.#failures.delete(key);
      delay = result?.requeueAfterMs;
      this.#opts.onDone?.(key, (performance.now() - started) / 1000);
    } catch (err) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      delay = this.#opts.errorPolicy(key, err, failures);
      this.#opts.onDone?.(key, (performance.now() - started) / 1000, err);
    } finally {
      this.#active.delete(key);
    }
    if (this.#dirty.delete(key)) {
      // A change arrived while we worked: run again now (level-triggered). After an error the change may be our
      // own status write, so wait a little (never longer than 5 s: a user's fix should not wait out a long backoff).
      if (this.#failures.has(key) && delay !== undefined) this.addAfter(key, Math.min(delay, 5_000));
      else this.add(key);
    } else if (delay !== undefined) {
      this.addAfter(key, delay);
    }
    if (this.#active.size === 0) { for (const w of this.#idleWaiters.splice(0)) w(); }
    this.#pump();
  }
}

/**
 * Per-cluster leader election on a coordination.k8s.io Lease, after client-go's leaderelection: so that when two
 * operator processes serve the same cluster, exactly one reconciles it at a time, and the cluster fails over when
 * its holder dies. Expiry is judged by our own clock from when we last saw the record change (no clock-skew
 * assumptions). A holder that cannot renew within the renew deadline stops before its lease expires.
 *
 * @module
 */
import { isStatus, type KubeClient, type KubeObject } from "./kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "./kube/resources.ts";
import { sleep } from "./backoff.ts";
import { fnv1a64 } from "./fnv.ts";

/** Lease settings. */
export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  /** Pause between attempts while campaigning, and after a failed renewal. */
  retryPeriodMs: number;
  /**
   * Pause after a successful renewal (default: retryPeriodMs). Longer than client-go's 2 s: each renewal is a write,
   * and an idle operator's only writes are these; a failed renewal is still retried every retryPeriodMs.
   */
  renewPeriodMs?: number;
}

/** Defaults (client-go's: 15 s / 10 s / 2 s). */
export const DEFAULT_LEASE: Omit<LeaseOptions, "identity" | "namespace"> = {
  name: "mysql-operator",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * The Lease of operators restricted to `namespaces` (empty: every namespace): `base` for every namespace, else
 * `base-<hash of the sorted set>`. Operators serving different namespace sets of one cluster elect separately
 * (both reconcile, each its own set); processes given the same set, in any order, share one Lease.
 */
export function leaseNameFor(base: string, namespaces: readonly string[]): string {
  return namespaces.length ? `${base}-${fnv1a64([...namespaces].sort().join("\u0000")).slice(0, 8)}` : base;
}

/** Callbacks of an elector. */
export interface LeaseCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  onHolder?(holder: string): void;
  onError?(err: unknown): void;
  /**
   * Asked before the elector gives up a Lease it holds because the gate says so: stop the work and resolve true
   * once none is in flight (within `ms`), or false to keep leading for now.
   */
  handOver?(ms: number): Promise<boolean>;
}

/** What a shared book of clusters (runtime/shard.ts) says to one cluster's elector. */
export interface LeaseGate {
  /** Whether the process may take this Lease now; a yes holds a place until {@linkcode LeaseGate.settle}. */
  reserve(): boolean;
  /** Whether the process leads the cluster after an attempt. */
  settle(leading: boolean): void;
  /** The Lease's holder let it run out (it may be gone). */
  expired(holder: string): void;
  /** Whether to hand the cluster over now. */
  excess(): boolean;
}

/** A Lease's MicroTime (RFC 3339 with microseconds) of `d`. */
export function micro(d: Date): string {
  return d.toISOString().replace("Z", "000Z");
}

/** One cluster's elector. */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #opts: LeaseOptions;
  readonly #cb: LeaseCallbacks;
  readonly #gate?: LeaseGate;
  #leading = false;
  // Local durations are measured on the monotonic clock (performance.now()): a step of the wall clock (a VM
  // resumed, NTP) must neither make a standby think the lease expired nor make the leader think it missed renewals.
  #lastRenew = 0;
  #observed?: { record: string; at: number };
  #holder = "";
  /** Our Lease as the API server returned it after our last write: the leader renews from it without a GET. */
  #mine?: KubeObject;

  /** Creates an elector; {@linkcode run} campaigns until aborted. */
  constructor(client: KubeClient, opts: LeaseOptions, cb: LeaseCallbacks, gate?: LeaseGate) {
    this.#client = client;
    this.#opts = opts;
    this.#cb = cb;
    this.#gate = gate;
  }

  /** Whether this process leads now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** The last holder seen. */
  get holder(): string {
    return this.#holder;
  }

  #path(): string {
    return objectPath(RESOURCES.lease, this.#opts.namespace, this.#opts.name);
  }

  #setLeading(v: boolean): void {
    if (v === this.#leading) return;
    this.#leading = v;
    if (v) this.#cb.onStartedLeading();
    else this.#cb.onStoppedLeading();
  }

  #seeHolder(h: string): void {
    if (h !== this.#holder) {
      this.#holder = h;
      this.#cb.onHolder?.(h);
    }
  }

  /**
   * One attempt to acquire or renew. Returns true when we hold the lease afterwards. With `mayTake` false, a lease
   * held by another process or free is only looked at (its holder still reported); an expired one is reported to
   * the gate, which is asked once more (counting the holder out may have raised this process's share).
   */
  async tryAcquireOrRenew(mayTake = true): Promise<boolean> {
    const now = new Date();
    const spec = {
      holderIdentity: this.#opts.identity,
      leaseDurationSeconds: Math.ceil(this.#opts.leaseDurationMs / 1000),
      renewTime: micro(now),
    };
    // Fast path (client-go's): the leader writes its renewal over the object of its last write. A conflict means
    // someone else wrote the Lease since; the slow path below reads it and decides.
    if (this.#leading && this.#mine) {
      const mine = this.#mine;
      this.#mine = undefined;
      try {
        this.#mine = await this.#client.request("PUT", this.#path(), {
          body: { ...mine, spec: { ...mine.spec, ...spec } },
        }, "update");
        return true;
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
      }
    }
    const lease = await this.#client.getOrUndefined(this.#path());
    if (!lease) {
      if (!mayTake) return false;
      try {
        this.#mine = await this.#client.create(collectionPath(RESOURCES.lease, this.#opts.namespace), {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#opts.name, namespace: this.#opts.namespace },
          spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 },
        }, "mysql-operator");
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
      this.#observed = { record: "", at: performance.now() };
      this.#seeHolder(this.#opts.identity);
      return true;
    }
    const holder: string = lease.spec?.holderIdentity ?? "";
    const record = `${holder}|${lease.spec?.renewTime ?? ""}`;
    if (this.#observed?.record !== record) this.#observed = { record, at: performance.now() };
    this.#seeHolder(holder);
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    const expired = performance.now() > this.#observed.at + durationMs;
    if (holder && holder !== this.#opts.identity && !expired) return false;
    if (holder && holder !== this.#opts.identity) this.#gate?.expired(holder);
    const taking = holder !== this.#opts.identity;
    // The holder just counted out may have raised this process's share: ask again now rather than a round later.
    if (taking && !mayTake && !(holder && this.#gate?.reserve())) return false;
    const next: KubeObject = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        ...(taking
          ? { acquireTime: micro(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    try {
      this.#mine = await this.#client.request("PUT", this.#path(), { body: next }, "update");
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote first
      throw err;
    }
    this.#seeHolder(this.#opts.identity);
    return true;
  }

  /** Campaigns and renews until `signal` aborts; then releases the lease if held. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let held = false;
      // A leader's attempt may not outlast its renew deadline: it must stop before the lease can expire.
      const budget = this.#leading
        ? this.#lastRenew + this.#opts.renewDeadlineMs - performance.now()
        : this.#opts.renewDeadlineMs;
      const mayTake = this.#leading || !this.#gate || this.#gate.reserve();
      try {
        held = await withTimeout(this.tryAcquireOrRenew(mayTake), Math.max(1, budget));
      } catch (err) {
        this.#cb.onError?.(err);
      }
      if (held) {
        this.#lastRenew = performance.now();
        this.#setLeading(true);
      } else if (
        this.#leading &&
        (this.#holder !== this.#opts.identity ||
          performance.now() - this.#lastRenew > this.#opts.renewDeadlineMs)
      ) {
        // Lost it, or could not renew in time: stop before the lease can expire and someone else starts.
        this.#setLeading(false);
      }
      this.#gate?.settle(this.#leading);
      if (held && this.#gate?.excess()) await this.#handOver();
      await sleep(
        held ? this.#opts.renewPeriodMs ?? this.#opts.retryPeriodMs : this.#opts.retryPeriodMs,
        signal,
      );
    }
    if (this.#leading) await this.release();
  }

  /** Hands the cluster over when the work in flight ends before the renew deadline; else keeps leading. */
  async #handOver(): Promise<void> {
    // Half of what is left before the renew deadline: a drain that does not finish leaves time to renew.
    const ms = (this.#lastRenew + this.#opts.renewDeadlineMs - performance.now()) / 2;
    if (ms > 0 && (await this.#cb.handOver?.(ms) ?? true)) {
      await this.release();
      this.#gate?.settle(false);
    }
  }

  /** Gives the lease up so another process takes over at once (shutdown, or more clusters led than its share). */
  async release(): Promise<void> {
    this.#setLeading(false);
    this.#mine = undefined;
    try {
      const lease = await this.#client.getOrUndefined(this.#path());
      if (!lease || lease.spec?.holderIdentity !== this.#opts.identity) return;
      await this.#client.request("PUT", this.#path(), {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
      }, "update");
    } catch (err) {
      this.#cb.onError?.(err);
    }
  }
}

/** Rejects when `p` takes longer than `ms` (a hung request must not keep a stale leader going). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

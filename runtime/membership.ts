/**
 * Which operator replicas are live, as one cluster shows it: each replica holds a member slot there, a Lease named
 * `<lease name>-member-<n>`, and renews it as often as it renews the clusters it leads. Slots are reused (a replica
 * takes the lowest free one; a slot whose holder stopped renewing is freed by the others), so a fleet that restarts
 * its pods under new names does not leave a Lease behind per pod: the slots never outnumber the replicas that ran
 * at once, and every verb is one the cluster Lease already needs, plus list.
 *
 * Expiry is judged as the elector judges it: from when this process last saw the record change, on its own
 * monotonic clock.
 *
 * @module
 */
import { isStatus, type KubeClient, type KubeObject } from "./kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "./kube/resources.ts";
import { sleep } from "./backoff.ts";
import type { ShardBook } from "./shard.ts";
import { micro } from "./lease.ts";

/** When a slot's record was first seen as it is now (monotonic ms). */
export type Sightings = Map<string, { record: string; at: number }>;

/** What to do in one cluster this round. */
export interface MembershipPlan {
  /** Holders whose records changed within their lease duration (this process not necessarily among them). */
  alive: string[];
  /** Holders whose record changed since the last round. */
  changed: string[];
  /** The slot to write for this process: its own (renewed), a free one (taken) or a new one (created). */
  write: { name: string; create: boolean; obj?: KubeObject };
  /** Slots of stopped holders, to be freed for the next replica that starts. */
  free: KubeObject[];
}

/** The name of slot `n`. */
export const slotName = (lease: string, n: number) => `${lease}-member-${n}`;

/** Plans one round from the listed slots; updates `seen` in place. Pure but for `seen`. */
export function planMembership(
  slots: KubeObject[],
  seen: Sightings,
  identity: string,
  lease: string,
  now: number,
): MembershipPlan {
  const prefix = `${lease}-member-`;
  const mine = slots.filter((s) => s.metadata?.name?.startsWith(prefix))
    .map((obj) => ({ obj, name: obj.metadata!.name!, n: Number(obj.metadata!.name!.slice(prefix.length)) }))
    .filter((s) => Number.isInteger(s.n) && s.n >= 0)
    .sort((a, b) => a.n - b.n);
  const alive: string[] = [], changed: string[] = [], dead: typeof mine = [];
  for (const [name] of seen) if (!mine.some((s) => s.name === name)) seen.delete(name); // bounded: listed only
  for (const s of mine) {
    const holder: string = s.obj.spec?.holderIdentity ?? "";
    const record = `${holder}|${s.obj.spec?.renewTime ?? ""}`;
    const before = seen.get(s.name);
    if (before?.record !== record) {
      seen.set(s.name, { record, at: now });
      if (before && holder) changed.push(holder);
    }
    if (!holder) continue;
    const durationMs = (s.obj.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (now - seen.get(s.name)!.at > durationMs) dead.push(s);
    else alive.push(holder);
  }
  const own = mine.find((s) => s.obj.spec?.holderIdentity === identity);
  const free = dead.filter((s) => s !== own);
  const open = own ?? mine.find((s) => !s.obj.spec?.holderIdentity) ?? free[0];
  const next = mine.length ? mine[mine.length - 1].n + 1 : 0;
  return {
    alive: [...new Set(alive)].sort(),
    changed: [...new Set(changed)],
    write: open
      ? { name: open.name, create: false, obj: open.obj }
      : { name: slotName(lease, next), create: true },
    free: free.filter((s) => s !== open).map((s) => s.obj),
  };
}

/** Settings of one cluster's membership loop. */
export interface MembershipOptions {
  client: KubeClient;
  cluster: string;
  namespace: string;
  /** The cluster Lease's name; the slots are named after it. */
  lease: string;
  identity: string;
  leaseDurationMs: number;
  periodMs: number;
  book: ShardBook;
  onError(err: unknown): void;
}

/** One round: list the slots, write ours, free the stopped ones', tell the book who is live. */
export async function membershipRound(o: MembershipOptions, seen: Sightings): Promise<void> {
  const list = await o.client.list(collectionPath(RESOURCES.lease, o.namespace));
  const plan = planMembership(list.items, seen, o.identity, o.lease, performance.now());
  const now = micro(new Date());
  const spec = { holderIdentity: o.identity, leaseDurationSeconds: Math.ceil(o.leaseDurationMs / 1000) };
  const put = (obj: KubeObject, s: Record<string, unknown>) =>
    o.client.request("PUT", objectPath(RESOURCES.lease, o.namespace, obj.metadata!.name!), {
      body: { ...obj, spec: { ...obj.spec, ...s } },
    }, "update");
  try {
    if (plan.write.create) {
      await o.client.create(collectionPath(RESOURCES.lease, o.namespace), {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: plan.write.name, namespace: o.namespace },
        spec: { ...spec, acquireTime: now, renewTime: now },
      }, "mysql-operator");
    } else {
      const taking = plan.write.obj!.spec?.holderIdentity !== o.identity;
      await put(plan.write.obj!, { ...spec, renewTime: now, ...(taking ? { acquireTime: now } : {}) });
    }
    for (const obj of plan.free) await put(obj, { holderIdentity: "" });
  } catch (err) {
    if (!isStatus(err, 409)) throw err; // another replica wrote first: the next round sees what it did
  }
  o.book.members(o.cluster, plan.alive, plan.changed);
}

/** Frees this process's slot (shutdown), so the others count it out at once. */
export async function leaveMembership(o: MembershipOptions): Promise<void> {
  const list = await o.client.list(collectionPath(RESOURCES.lease, o.namespace));
  for (const obj of list.items) {
    if (!obj.metadata?.name?.startsWith(`${o.lease}-member-`) || obj.spec?.holderIdentity !== o.identity) {
      continue;
    }
    await o.client.request("PUT", objectPath(RESOURCES.lease, o.namespace, obj.metadata.name), {
      body: { ...obj, spec: { ...obj.spec, holderIdentity: "", leaseDurationSeconds: 1 } },
    }, "update");
  }
}

/** Runs rounds every `periodMs` until `signal` aborts, then leaves. Never throws. */
export async function runMembership(o: MembershipOptions, signal: AbortSignal): Promise<void> {
  const seen: Sightings = new Map();
  while (!signal.aborted) {
    try {
      await membershipRound(o, seen);
    } catch (err) {
      o.book.members(o.cluster, []); // this cluster vouches for nobody while it cannot be read
      o.onError(err);
    }
    await sleep(o.periodMs, signal);
  }
  o.book.forget(o.cluster);
  await leaveMembership(o).catch(o.onError);
}

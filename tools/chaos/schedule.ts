/**
 * The chaos run's schedule: a seeded, replayable list of what happens when — operator kills, API server outages,
 * network faults between the operators and the API servers, etcd compactions, and what users do. Pure: the same
 * options give the same schedule, so a report's seed replays its run; `faults: false` keeps every user action and
 * drops the faults (the fault-free run the latencies are compared with).
 *
 * The user actions are drawn against a model of what exists (a name is deleted only while it lives, re-created
 * only after it went, a broken backup is fixed only while its deletion waits on it), so every action is one a
 * real user could take at that moment.
 *
 * @module
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";

/** What the schedule is drawn for. */
export interface ScheduleOptions {
  /** The seed (any integer): same seed and options, same schedule. */
  seed: number;
  /** Number of clusters (index 0..clusters-1 in events). */
  clusters: number;
  /** MySQL objects created per cluster at the start. */
  objects: number;
  /** Length of the window in which faults and user actions happen, ms. */
  durationMs: number;
  /** How long the stopped and the hung API server stay so, ms (60 s in the full run). */
  outageMs: number;
  /** false: user actions only (the fault-free run of the same seed). */
  faults: boolean;
}

/** Namespaces of the run in each cluster; the last one is deleted with instances in it. */
export const NAMESPACES = ["chaos-a", "chaos-b", "chaos-c", "chaos-doomed"] as const;

/** What a user does to one MySQL object (or its children) in one cluster. */
export type UserOp =
  | { op: "create" }
  | { op: "create-after-foreign" }
  | { op: "delete" }
  | { op: "break-backup" }
  | { op: "fix-backup" }
  | { op: "edit-image"; image: string }
  | { op: "edit-resources"; cpu: string }
  | { op: "backup-now" }
  | { op: "delete-child"; child: "deployment" | "service" | "secret" }
  | { op: "edit-child"; child: "deployment" | "service" }
  | { op: "relabel-claim" };

/** One scheduled event; `at` is ms from the start of the run. */
export type ChaosEvent =
  & { at: number }
  & (
    | { kind: "kill"; target: "leader" | "both"; restartAfterMs: number }
    | { kind: "api-stop"; cluster: number; forMs: number }
    | { kind: "api-hang"; cluster: number; forMs: number }
    | { kind: "net"; cluster: number; mode: "cut" | "freeze" | "delay"; forMs: number; delayMs: number }
    | { kind: "compact"; cluster: number }
    | { kind: "delete-namespace"; cluster: number; namespace: string }
    | { kind: "user"; cluster: number; namespace: string; name: string; action: UserOp }
  );

/** The images edits switch between (kwok nodes run any image; the real node is not part of the run). */
export const IMAGES = ["mysql:8.0", "mysql:8.4"] as const;
/** A backup image that fails on the local clusters' fake nodes (tools/cluster/stages.yaml). */
export const FAILING_BACKUP_IMAGE = "fail.invalid/mysql:8.0";

/** live: users act on it; held: a scheduled action will end its wait; gone: may be re-created; taken: never again. */
type Life = "live" | "held" | "gone" | "taken";

/** A seeded random source: integers and picks, drawn in a fixed order. */
class Draw {
  #rng;
  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed | 0);
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return uniformInt(this.#rng, Math.ceil(min), Math.floor(max));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
  chance(percent: number): boolean {
    return this.int(1, 100) <= percent;
  }
}

/** Initial object names of a cluster: `db-0`…, spread over the namespaces. */
export function initialObjects(objects: number): Array<{ namespace: string; name: string }> {
  return Array.from(
    { length: objects },
    (_, i) => ({ namespace: NAMESPACES[i % NAMESPACES.length], name: `db-${i}` }),
  );
}

/** Draws the schedule (sorted by time; ties keep the order they were drawn in). */
export function chaosSchedule(o: ScheduleOptions): ChaosEvent[] {
  if (o.clusters < 1 || o.objects < 1 || o.durationMs <= 0) {
    throw new Error("the schedule needs clusters, objects and time");
  }
  // Separate streams for faults and users: the user actions of a seed are the same with and without faults.
  const users = userActions(new Draw(o.seed), o);
  const faults = o.faults ? faultEvents(new Draw(o.seed ^ 0x5eed), o) : [];
  return [...faults, ...users].map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
    .map(({ e }) => e);
}

function faultEvents(d: Draw, o: ScheduleOptions): ChaosEvent[] {
  const D = o.durationMs;
  const out: ChaosEvent[] = [];
  for (let at = d.int(20_000, 60_000); at < D; at += d.int(30_000, 90_000)) {
    out.push({
      kind: "kill",
      at,
      target: d.chance(25) ? "both" : "leader",
      restartAfterMs: d.int(1_000, 15_000),
    });
  }
  // One API server stopped and another hung, on different clusters (one cluster: the same one, later).
  const stopped = d.int(0, o.clusters - 1);
  const hung = o.clusters > 1 ? (stopped + d.int(1, o.clusters - 1)) % o.clusters : stopped;
  const span = Math.max(0, D - 2 * o.outageMs);
  const outages = [
    { kind: "api-stop" as const, at: d.int(span * 0.1, span * 0.4), cluster: stopped, forMs: o.outageMs },
    {
      kind: "api-hang" as const,
      at: o.outageMs + d.int(span * 0.55, span * 0.9),
      cluster: hung,
      forMs: o.outageMs,
    },
  ];
  out.push(...outages);
  for (let at = d.int(10_000, 30_000); at < D; at += d.int(15_000, 45_000)) {
    const mode = d.pick(["cut", "freeze", "delay"] as const);
    const forMs = mode === "cut" ? d.int(0, 5_000) : d.int(5_000, 40_000);
    out.push({ kind: "net", at, cluster: d.int(0, o.clusters - 1), mode, forMs, delayMs: d.int(100, 1_500) });
  }
  // A compaction needs its etcd up and the API server answering: never inside that cluster's outage (+10 s to
  // come back).
  for (let c = 0; c < o.clusters; c++) {
    let at = d.int(D * 0.2, D * 0.9);
    for (const w of outages.filter((w) => w.cluster === c)) {
      const end = w.at + w.forMs + 10_000;
      if (at >= w.at - 5_000 && at < end) at = end < D ? end : w.at - 5_000;
    }
    out.push({ kind: "compact", at, cluster: c });
  }
  return out;
}

function userActions(d: Draw, o: ScheduleOptions): ChaosEvent[] {
  const out: ChaosEvent[] = [];
  const D = o.durationMs;
  // name key `c/ns/name` → life; the doomed namespace's objects stop being acted on once it is deleted.
  const life = new Map<string, Life>();
  const doomedAt = new Map<number, number>();
  let fresh = 0;
  for (let c = 0; c < o.clusters; c++) {
    for (const { namespace, name } of initialObjects(o.objects)) {
      life.set(`${c}/${namespace}/${name}`, "live");
    }
    const at = d.int(D * 0.3, D * 0.7);
    doomedAt.set(c, at);
    out.push({ kind: "delete-namespace", at, cluster: c, namespace: NAMESPACES[NAMESPACES.length - 1] });
  }
  // Actions scheduled ahead (a fix, a later deletion) and the life their name has once they are done.
  const due: Array<{ event: ChaosEvent & { kind: "user" }; then: Life }> = [];
  const later: ChaosEvent[] = [];
  const settle = (at: number) => {
    for (let i = due.length - 1; i >= 0; i--) {
      const { event, then } = due[i];
      if (event.at > at) continue;
      life.set(`${event.cluster}/${event.namespace}/${event.name}`, then);
      later.push(event);
      due.splice(i, 1);
    }
  };
  const doomed = `/${NAMESPACES[NAMESPACES.length - 1]}/`;
  const names = (c: number, at: number, want: Life) => {
    const out: string[] = [];
    const prefix = `${c}/`;
    const doomedOpen = at < doomedAt.get(c)! - 5_000;
    for (const [k, l] of life) {
      if (l === want && k.startsWith(prefix) && (doomedOpen || !k.includes(doomed))) out.push(k);
    }
    return out;
  };
  const user = (at: number, key: string, action: UserOp): ChaosEvent & { kind: "user" } => {
    const [c, namespace, name] = key.split("/");
    return { kind: "user", at, cluster: Number(c), namespace, name, action };
  };
  // Users stop a little before the end, so the last action's consequences start inside the window.
  for (let at = d.int(5_000, 10_000); at < D - 10_000; at += d.int(1_000, 4_000)) {
    const c = d.int(0, o.clusters - 1);
    const live = names(c, at, "live");
    const roll = d.int(1, 100);
    if (roll <= 20 || live.length === 0) {
      const gone = names(c, at, "gone");
      if (gone.length > 0 && d.chance(50)) {
        const key = d.pick(gone);
        life.set(key, "live");
        out.push(user(at, key, { op: "create" }));
      } else if (d.chance(10)) {
        // Another app's objects hold the child names first: the object must report the conflict and touch
        // nothing of theirs; the user deletes it later, and the names stay theirs.
        const key = `${c}/${d.pick(NAMESPACES.slice(0, -1))}/taken-${fresh++}`;
        life.set(key, "held");
        out.push(user(at, key, { op: "create-after-foreign" }));
        due.push({
          event: user(Math.min(D - 5_000, at + d.int(20_000, 60_000)), key, { op: "delete" }),
          then: "taken",
        });
      } else {
        const key = `${c}/${d.pick(NAMESPACES.slice(0, -1))}/new-${fresh++}`;
        life.set(key, "live");
        out.push(user(at, key, { op: "create" }));
      }
      settle(at);
      continue;
    }
    const key = d.pick(live);
    if (roll <= 35) {
      // Some deletions wait on a broken backup image that a user fixes later.
      if (d.chance(30)) {
        out.push(user(at, key, { op: "break-backup" }));
        out.push(user(at + 1_000, key, { op: "delete" }));
        due.push({
          event: user(Math.min(D - 5_000, at + d.int(20_000, 90_000)), key, { op: "fix-backup" }),
          then: "gone",
        });
        life.set(key, "held");
      } else {
        out.push(user(at, key, { op: "delete" }));
        life.set(key, "gone");
      }
    } else if (roll <= 50) out.push(user(at, key, { op: "edit-image", image: d.pick(IMAGES) }));
    else if (roll <= 58) out.push(user(at, key, { op: "edit-resources", cpu: `${d.int(1, 9) * 100}m` }));
    else if (roll <= 66) out.push(user(at, key, { op: "backup-now" }));
    else if (roll <= 78) {
      out.push(
        user(at, key, { op: "delete-child", child: d.pick(["deployment", "service", "secret"] as const) }),
      );
    } else if (roll <= 88) {
      out.push(user(at, key, { op: "edit-child", child: d.pick(["deployment", "service"] as const) }));
    } else out.push(user(at, key, { op: "relabel-claim" }));
    settle(at);
  }
  return [...out, ...later, ...due.map((p) => p.event)];
}

/**
 * The chaos run's invariants, as pure checks of what the run recorded: a history of what happened (from the
 * run's own watches of each API server and the API servers' audit logs) and the state after the settle period.
 * Each check returns its violations, each a sentence naming the object, so a report says what broke, not only
 * that something did. Every check has a test that feeds it a violating history (invariants_test.ts).
 *
 * @module
 */
import { childNames } from "../../templates/names.ts";

/** One MySQL object's life (by UID) as the run's watch saw it. */
export interface Incarnation {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  /** status.finalBackupTime was seen set: the operator recorded a verified final backup. */
  finalBackupVerified: boolean;
  /** `otus.homework/skip-final-backup: "true"` was seen on it. */
  skipFinalBackup: boolean;
}

/** A child the run's watches saw come, change or go. */
export interface ChildEvent {
  cluster: string;
  /** ms since the start of the run. */
  at: number;
  kind: "Deployment" | "BackupJob";
  namespace: string;
  name: string;
  /** UID of the MySQL object its controller reference names. */
  ownerUid: string;
  /** `active`: exists (a Job: not finished); `finished`: a Job that completed or failed; `gone`: deleted. */
  state: "active" | "finished" | "gone";
}

/** An object of another app that holds one of the operator's child names. */
export interface ForeignObject {
  cluster: string;
  resource: "deployments" | "services" | "secrets";
  namespace: string;
  name: string;
  uid: string;
  /** What the other app set: labels, annotations, owner references, Secret keys (see `fingerprint`). */
  fingerprint: string;
}

/** A write the API server's audit log recorded from one of the operator processes. */
export interface OperatorWrite {
  cluster: string;
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  code: number;
  /** The User-Agent (names the process). */
  by: string;
}

/** What the run recorded while it ran. */
export interface ChaosHistory {
  incarnations: Incarnation[];
  /** PersistentVolumes that were deleted. */
  volumesDeleted: Array<{ cluster: string; name: string }>;
  children: ChildEvent[];
  foreign: ForeignObject[];
  operatorWrites: OperatorWrite[];
}

/** The state after the settle period. */
export interface ChaosFinal {
  mysqls: Array<
    { cluster: string; namespace: string; name: string; deleting: boolean; ready: boolean; why?: string }
  >;
  jobs: Array<{ cluster: string; namespace: string; name: string; finished: boolean; ownerExists: boolean }>;
  /** The foreign objects as they are now (missing: deleted). */
  foreign: ForeignObject[];
  /** Namespaces the schedule deleted (their objects are gone on purpose). */
  deletedNamespaces: Array<{ cluster: string; namespace: string }>;
}

/** Violations per invariant (empty arrays: it held). */
export interface Violations {
  dataWithoutBackup: string[];
  foreignTouched: string[];
  duplicateChildren: string[];
  jobsLeftBehind: string[];
  stuckObjects: string[];
}

/**
 * What other apps set on an object, as one comparable string: labels, annotations (but those Kubernetes' own
 * controllers add, such as `deployment.kubernetes.io/revision`), owner references and a Secret's keys.
 */
export function fingerprint(obj: {
  metadata?: { labels?: unknown; annotations?: unknown; ownerReferences?: unknown };
  data?: Record<string, unknown>;
}): string {
  const sorted = (o: unknown) => o ? Object.fromEntries(Object.entries(o as object).sort()) : {};
  const annotations = Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) =>
    !/kubernetes\.io\//.test(k)
  );
  return JSON.stringify({
    labels: sorted(obj.metadata?.labels),
    annotations: sorted(Object.fromEntries(annotations)),
    ownerReferences: obj.metadata?.ownerReferences ?? [],
    keys: Object.keys(obj.data ?? {}).sort(),
  });
}

/** Data volumes deleted without a verified final backup of their incarnation (or the skip annotation). */
export function dataWithoutBackup(h: ChaosHistory): string[] {
  const byVolume = new Map(h.incarnations.map((i) => [`${i.cluster}/${childNames(i).dataPV}`, i]));
  const backupVolumes = new Set(h.incarnations.map((i) => `${i.cluster}/${childNames(i).backupPV}`));
  const out: string[] = [];
  for (const v of h.volumesDeleted) {
    const key = `${v.cluster}/${v.name}`;
    const i = byVolume.get(key);
    if (backupVolumes.has(key)) out.push(`${key}: a backup volume was deleted`);
    else if (!i) {
      if (/^mysql-.+-data-[0-9a-f]+$/.test(v.name)) {
        out.push(`${key}: a data volume of no known incarnation was deleted`);
      }
    } else if (!i.finalBackupVerified && !i.skipFinalBackup) {
      out.push(
        `${key}: data of ${i.cluster}/${i.namespace}/${i.name} (uid ${i.uid}) deleted without a verified final backup`,
      );
    }
  }
  return out;
}

/** Foreign objects the operator wrote or deleted, or that changed or went while their namespace lives. */
export function foreignTouched(h: ChaosHistory, f: ChaosFinal): string[] {
  const out: string[] = [];
  const key = (o: { cluster: string; resource: string; namespace?: string; name?: string }) =>
    `${o.cluster}/${o.resource}/${o.namespace ?? ""}/${o.name ?? ""}`;
  const foreign = new Set(h.foreign.map(key));
  for (const w of h.operatorWrites) {
    if (foreign.has(key(w)) && w.code >= 200 && w.code < 300) {
      out.push(`${key(w)}: ${w.verb} by ${w.by} (${w.code})`);
    }
  }
  const now = new Map(f.foreign.map((o) => [key(o), o]));
  const deadNs = new Set(f.deletedNamespaces.map((n) => `${n.cluster}/${n.namespace}`));
  for (const o of h.foreign) {
    if (deadNs.has(`${o.cluster}/${o.namespace}`)) continue;
    const cur = now.get(key(o));
    if (!cur || cur.uid !== o.uid) out.push(`${key(o)}: deleted`);
    else if (cur.fingerprint !== o.fingerprint) {
      out.push(`${key(o)}: changed from ${o.fingerprint} to ${cur.fingerprint}`);
    }
  }
  return out;
}

/** Moments when one instance had two Deployments, or two backup Jobs running. */
export function duplicateChildren(h: ChaosHistory): string[] {
  const out: string[] = [];
  const live = new Map<string, Set<string>>(); // cluster/kind/owner → names of active children
  const reported = new Set<string>();
  for (const e of [...h.children].sort((a, b) => a.at - b.at)) {
    const group = `${e.cluster}/${e.kind}/${e.ownerUid}`;
    const names = live.get(group) ?? new Set<string>();
    live.set(group, names);
    const child = `${e.namespace}/${e.name}`;
    if (e.state === "active") names.add(child);
    else names.delete(child);
    if (names.size > 1 && !reported.has(group)) {
      reported.add(group);
      out.push(
        `${e.cluster}: owner ${e.ownerUid} had ${names.size} ${e.kind}s at ${e.at} ms: ${
          [...names].join(", ")
        }`,
      );
    }
  }
  return out;
}

/** Finished Jobs, and Jobs of objects that are gone, still there after the settle period. */
export function jobsLeftBehind(f: ChaosFinal): string[] {
  return f.jobs.filter((j) => j.finished || !j.ownerExists).map((j) =>
    `${j.cluster}/${j.namespace}/${j.name}: ${j.finished ? "finished" : "its MySQL is gone"}, still there`
  );
}

/** Deletions that did not finish, and live objects that are not Ready, after the settle period. */
export function stuckObjects(f: ChaosFinal): string[] {
  return f.mysqls.filter((m) => m.deleting || !m.ready).map((m) =>
    `${m.cluster}/${m.namespace}/${m.name}: ${m.deleting ? "still deleting" : "not Ready"}${
      m.why ? ` (${m.why})` : ""
    }`
  );
}

/** Every invariant over one run. */
export function checkInvariants(h: ChaosHistory, f: ChaosFinal): Violations {
  return {
    dataWithoutBackup: dataWithoutBackup(h),
    foreignTouched: foreignTouched(h, f),
    duplicateChildren: duplicateChildren(h),
    jobsLeftBehind: jobsLeftBehind(f),
    stuckObjects: stuckObjects(f),
  };
}

/** Number of violations in all. */
export function violationCount(v: Violations): number {
  return Object.values(v).reduce((n, list) => n + list.length, 0);
}

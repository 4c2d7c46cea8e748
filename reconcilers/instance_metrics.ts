/**
 * What the metrics say about one instance after a pass, as a pure function of the object and the status the pass
 * wrote: what the RPO alerts of deploy/monitoring/rules.yaml read. Taken from status on every pass (not only when a
 * backup Job finishes in this process), so a restarted operator or a new leader reports the same ages at once.
 *
 * @module
 */
import type { MySQL, MySQLStatus } from "../api/mysql.ts";
import { CONDITIONS, PHASES } from "../api/status.ts";
import { nextSlot, parseCron } from "./cron.ts";

/** The series of one instance (labels `cluster`, `namespace`, `name`). */
export interface InstanceSeries {
  /** `phase` and Ready's reason: `mysql_operator_instance_status{phase,reason}` 1. */
  phase: string;
  reason: string;
  /** `status.lastBackupTime`, Unix seconds. */
  lastBackupSeconds?: number;
  /** `status.lastBackupBytes`. */
  lastBackupBytes?: number;
  /** Where the instance's backups go: `store` with `spec.backup.objectStore`, else `volume`. */
  backupTarget: "volume" | "store";
  /** `metadata.creationTimestamp`, Unix seconds (the age of an instance that has no backup yet). */
  createdSeconds?: number;
  /** The longest gap between slots of `spec.backup.schedule` (none without a schedule, or one cron cannot read). */
  backupIntervalSeconds?: number;
}

const seconds = (t: string | undefined) => {
  const ms = Date.parse(t ?? "");
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
};

/** The series a pass leaves for `obj` with `status`. */
export function instanceSeries(obj: MySQL, status: MySQLStatus, now: Date): InstanceSeries {
  const ready = status.conditions?.find((c) => c.type === CONDITIONS.ready);
  const reconciling = status.conditions?.find((c) => c.type === CONDITIONS.reconciling);
  return {
    phase: status.phase ?? "",
    // While paused Ready is left as it was; Reconciling says Paused.
    reason: (status.phase === PHASES.paused ? reconciling?.reason : ready?.reason) ?? "",
    lastBackupSeconds: seconds(status.lastBackupTime),
    lastBackupBytes: status.lastBackupBytes,
    backupTarget: obj.spec.backup?.objectStore ? "store" : "volume",
    createdSeconds: seconds(obj.metadata.creationTimestamp),
    backupIntervalSeconds: backupIntervalSeconds(obj.spec.backup?.schedule, now),
  };
}

/** How many schedules {@linkcode backupIntervalSeconds} remembers (objects share a handful; the bound is a guard). */
const MEMO_LIMIT = 256;
/** Gaps are looked for this far ahead at most: a longer one is reported as this long (cost stays bounded). */
const HORIZON_MINUTES = 32 * 24 * 60;
const memo = new Map<string, number | undefined>();

/**
 * The longest gap between the next 8 slots of a schedule after `now`, in seconds (at most 32 days: a rarer
 * schedule is reported as 32 days), remembered per expression. The longest, not the next: "0 3 * * 1-5" is due
 * daily but may rightly be three days apart, and an alert at twice the gap must not fire every weekend.
 */
export function backupIntervalSeconds(schedule: string | undefined, now: Date): number | undefined {
  if (!schedule) return undefined;
  if (memo.has(schedule)) return memo.get(schedule);
  let gap: number | undefined;
  try {
    const cron = parseCron(schedule);
    let prev = nextSlot(cron, now, HORIZON_MINUTES);
    gap = prev ? 0 : HORIZON_MINUTES * 60;
    for (let i = 0; prev && i < 8; i++) {
      const next = nextSlot(cron, prev, HORIZON_MINUTES);
      gap = Math.max(gap, next ? (next.getTime() - prev.getTime()) / 1000 : HORIZON_MINUTES * 60);
      prev = next;
    }
  } catch {
    gap = undefined; // reported as BackupReady=False InvalidSchedule; no interval to alert on
  }
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(schedule, gap);
  return gap;
}

/**
 * Standard 5-field cron expressions (minute hour day-of-month month day-of-week, UTC) for scheduled backups:
 * `*`, lists, ranges and steps. Day-of-month and day-of-week combine with OR when both are restricted, as in cron.
 *
 * @module
 */

/** A parsed schedule. */
export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

const FIELDS: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

/** Parses an expression; throws an Error that says which field is wrong. */
export function parseCron(expr: string): Cron {
  const aliases: Record<string, string> = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
  };
  const parts = (aliases[expr.trim()] ?? expr).trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`schedule "${expr}" must have 5 fields (minute hour day month weekday)`);
  }
  const sets = parts.map((p, i) => parseField(p, FIELDS[i][0], FIELDS[i][1], i));
  if (sets[4].has(7)) sets[4].add(0);
  return {
    minutes: sets[0],
    hours: sets[1],
    days: sets[2],
    months: sets[3],
    weekdays: sets[4],
    domRestricted: parts[2] !== "*",
    dowRestricted: parts[4] !== "*",
  };
}

function parseField(text: string, min: number, max: number, index: number): Set<number> {
  const names = ["minute", "hour", "day of month", "month", "day of week"];
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new Error(`invalid ${names[index]} field "${text}"`);
    let lo = min, hi = max;
    if (m[2] !== undefined) {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : (m[4] !== undefined ? max : lo);
    }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1) {
      throw new Error(`${names[index]} field "${text}" is out of range ${min}-${max}`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function matches(c: Cron, d: Date): boolean {
  if (
    !c.minutes.has(d.getUTCMinutes()) || !c.hours.has(d.getUTCHours()) || !c.months.has(d.getUTCMonth() + 1)
  ) {
    return false;
  }
  const dom = c.days.has(d.getUTCDate()), dow = c.weekdays.has(d.getUTCDay());
  if (c.domRestricted && c.dowRestricted) return dom || dow;
  return dom && dow;
}

const MINUTE = 60_000;
const LIMIT = 366 * 24 * 60;

/** The latest slot at or before `now`, or undefined when none in the last year. */
export function previousSlot(c: Cron, now: Date): Date | undefined {
  let t = Math.floor(now.getTime() / MINUTE) * MINUTE;
  for (let i = 0; i < LIMIT; i++, t -= MINUTE) if (matches(c, new Date(t))) return new Date(t);
  return undefined;
}

/** The first slot strictly after `now`, or undefined when none within `limitMinutes` (default: a year). */
export function nextSlot(c: Cron, now: Date, limitMinutes = LIMIT): Date | undefined {
  let t = Math.floor(now.getTime() / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < limitMinutes; i++, t += MINUTE) if (matches(c, new Date(t))) return new Date(t);
  return undefined;
}

/**
 * Drift detection without a write: a child needs applying only when some field we set differs from the live object.
 * Fields the API server adds (defaults, status, managedFields) are ignored because only desired fields are compared.
 * This keeps an idle operator at zero writes.
 *
 * Secrets are compared by digest: the child cache holds a digest in place of each `data` value
 * (runtime/projection.ts), so both sides are brought to digests before comparing.
 *
 * @module
 */
import { secretDigests } from "../runtime/projection.ts";

/** Canonical text of a quantity for comparison (`1024Mi` and `1Gi` are the same). */
function canonicalQuantity(v: string): string | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/.exec(v);
  if (!m) return undefined;
  const mult: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
    Ei: 1024 ** 6,
  };
  return String(Number(m[1]) * mult[m[2] ?? ""]);
}

/** True when two quantities are equal in value (`1024Mi` and `1Gi`); unreadable ones only when equal as text. */
export function sameQuantity(a: string, b: string): boolean {
  if (a === b) return true;
  const x = canonicalQuantity(a);
  return x !== undefined && x === canonicalQuantity(b);
}

/**
 * True when every field of `desired` is present and equal in `actual` (arrays: same length, element-wise). For a
 * Secret, `data` and `stringData` are compared as digests, so a cached (projected) Secret and a live read compare
 * alike.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (isSecret(desired)) return subset(digested(desired), isSecret(actual) ? digested(actual) : actual);
  return subset(desired, actual);
}

type Obj = Record<string, unknown>;

function isSecret(o: unknown): o is Obj {
  return typeof o === "object" && o !== null && (o as Obj).kind === "Secret" &&
    (o as Obj).apiVersion === "v1";
}

/** The Secret with its values as digests in `data` (no `stringData`: the API server folds it into `data`). */
function digested(secret: Obj): Obj {
  const { stringData: _, data: __, ...rest } = secret;
  const data = secretDigests(secret);
  return data ? { ...rest, data } : rest;
}

function subset(desired: unknown, actual: unknown): boolean {
  if (desired === actual) return true;
  if (desired === null || desired === undefined) return actual === null || actual === undefined;
  if (typeof desired === "number" && typeof actual === "string") return String(desired) === actual;
  if (typeof desired === "string" && typeof actual === "string") {
    const a = canonicalQuantity(desired), b = canonicalQuantity(actual);
    return a !== undefined && a === b;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual) || actual.length !== desired.length) return false;
    for (let i = 0; i < desired.length; i++) if (!subset(desired[i], actual[i])) return false;
    return true;
  }
  if (typeof desired === "object") {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>, d = desired as Record<string, unknown>;
    // An undefined desired field is one we do not set (JSON drops it), so the server's value is fine. A plain
    // loop by index: entry arrays and iterator results were a large share of what a pass allocated (the operator
    // runs in V8's interpreter, which allocates each iteration's result).
    const keys = Object.keys(d);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (d[k] !== undefined && !subset(d[k], a[k])) return false;
    }
    return true;
  }
  return false;
}

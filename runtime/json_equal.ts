/**
 * Equality of JSON values without serializing them.
 *
 * @module
 */

/**
 * Whether `a` and `b` are equal as JSON: objects with the same keys in any order, arrays element by element, and a
 * key whose value is `undefined` counts as absent (JSON leaves it out). The same answer as comparing their JSON
 * with sorted keys, without building either text or any sorted copy: a status is compared on every pass, and the
 * text and copies were a large share of what a deletion pass allocated.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // JSON writes an array's undefined as null.
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) defined--;
  return defined === 0;
}

/**
 * One copy of each repeated string in the caches. `JSON.parse` gives every string value its own copy, so 900 cached
 * objects held 9,004 copies of their namespace's name, 3,601 of `PersistentVolumeClaim`, 2,701 of a probe's command
 * and 901 of each condition's message: V8's heap snapshot of an idle operator at 3 x 300 had 12.6 of its 31.7 MB in
 * 184,498 strings, most of them repeats. The informers pass what they cache through {@linkcode StringPool.intern},
 * which swaps each string value for the pool's copy, so the repeats become garbage at once.
 *
 * @module
 */

/** Keys whose values are unique to one object version: pooling them would only fill the pool. */
const UNIQUE_KEYS: ReadonlySet<string> = new Set(["uid", "resourceVersion"]);

/**
 * A bounded pool of canonical strings. When it is full it starts over empty: strings already swapped stay shared,
 * and later ones are pooled anew, so the pool never grows past `capacity` whatever the cluster holds.
 */
export class StringPool {
  readonly #strings = new Map<string, string>();
  readonly #capacity: number;
  readonly #maxLength: number;

  /** `capacity`: most strings held; `maxLength`: longer strings are left alone (rarely repeated, costly to hash). */
  constructor(capacity = 16_384, maxLength = 256) {
    this.#capacity = capacity;
    this.#maxLength = maxLength;
  }

  /** Strings held now (at most the capacity). */
  get size(): number {
    return this.#strings.size;
  }

  /** The pool's copy of `s` (pooled now when new). */
  one(s: string): string {
    if (s.length > this.#maxLength) return s;
    const pooled = this.#strings.get(s);
    if (pooled !== undefined) return pooled;
    if (this.#strings.size >= this.#capacity) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  /**
   * Swaps, in place, every string value in `value` (objects and arrays, any depth) for the pool's copy, except the
   * values of `uid` and `resourceVersion`; returns `value`. Iterative: a deep object cannot overflow the stack.
   */
  intern<T>(value: T): T {
    const stack: unknown[] = [value];
    while (stack.length) {
      const node = stack.pop();
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const v = node[i];
          if (typeof v === "string") node[i] = this.one(v);
          else if (typeof v === "object" && v !== null) stack.push(v);
        }
      } else if (typeof node === "object" && node !== null) {
        const obj = node as Record<string, unknown>;
        for (const key in obj) {
          const v = obj[key];
          if (typeof v === "string") {
            if (!UNIQUE_KEYS.has(key)) obj[key] = this.one(v);
          } else if (typeof v === "object" && v !== null) stack.push(v);
        }
      }
    }
    return value;
  }
}

/** The process's pool: the caches of every cluster share it (namespaces, kinds and messages repeat across them). */
export const CACHE_STRINGS: StringPool = new StringPool();

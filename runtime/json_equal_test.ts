import { assertEquals } from "../tests/_assert.ts";
import { jsonEqual } from "./json_equal.ts";

/** The definition it replaces: JSON with every object's keys sorted. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) => {
    if (!val || typeof val !== "object" || Array.isArray(val)) return val;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(val).sort()) if (val[k] !== undefined) out[k] = val[k];
    return out;
  });
}

const cases: [string, unknown, unknown, boolean][] = [
  ["keys in another order", { a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }, true],
  ["an undefined field is absent", { a: 1, b: undefined }, { a: 1 }, true],
  ["absent on the other side too", { a: 1 }, { a: 1, b: undefined }, true],
  ["null is not absent", { a: null }, {}, false],
  [
    "a value differs deep down",
    { c: [{ t: "Ready", s: "True" }] },
    { c: [{ t: "Ready", s: "False" }] },
    false,
  ],
  ["an extra key", { a: 1 }, { a: 1, b: 2 }, false],
  ["a missing key, counts equal", { a: 1, b: 2 }, { a: 1, c: 2 }, false],
  ["array order matters", [1, 2], [2, 1], false],
  ["array length", [1], [1, 1], false],
  ["undefined in an array is null", [undefined], [null], true],
  ["array against object", [], {}, false],
  ["number against string", { a: 1 }, { a: "1" }, false],
  ["empty objects", {}, {}, true],
  ["null against object", null, {}, false],
];

Deno.test("jsonEqual answers as comparing the JSON with sorted keys does", () => {
  for (const [name, a, b, want] of cases) {
    assertEquals(canonical(a) === canonical(b), want, `definition: ${name}`);
    assertEquals(jsonEqual(a, b), want, name);
    assertEquals(jsonEqual(b, a), want, `${name} (swapped)`);
  }
});

Deno.test("jsonEqual agrees with the definition on random statuses", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const value = (depth: number): unknown => {
    const pick = rnd(depth > 2 ? 4 : 7);
    if (pick === 0) return rnd(3);
    if (pick === 1) return ["a", "b"][rnd(2)];
    if (pick === 2) return rnd(2) ? null : undefined;
    if (pick === 3) return rnd(2) === 1;
    if (pick === 4) return Array.from({ length: rnd(3) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (const k of ["x", "y", "z"]) if (rnd(2)) o[k] = value(depth + 1);
    return o;
  };
  let equal = 0;
  for (let i = 0; i < 3000; i++) {
    const a = value(0), b = rnd(3) ? value(0) : structuredClone(a);
    const want = canonical(a) === canonical(b);
    if (want) equal++;
    assertEquals(jsonEqual(a, b), want, `${canonical(a)} vs ${canonical(b)}`);
  }
  assertEquals(equal > 300, true, `only ${equal} equal pairs: the test would not see a false "different"`);
});

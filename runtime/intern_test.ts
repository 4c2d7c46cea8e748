import { assert, assertEquals } from "../tests/_assert.ts";
import { StringPool } from "./intern.ts";

function child(i: number) {
  return JSON.parse(JSON.stringify({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: `db-${i}-data`,
      namespace: "shop",
      uid: `uid-${i}`,
      resourceVersion: String(1000 + i),
      labels: { "app.kubernetes.io/instance": `db-${i}` },
    },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    status: { phase: "Bound", conditions: [{ type: "Resized", message: "x".repeat(300) }] },
  }));
}

Deno.test("interning keeps every value and pools each repeated string once", () => {
  const pool = new StringPool();
  const objects = [child(1), child(2), child(1)];
  const before = structuredClone(objects);
  for (const o of objects) assertEquals(pool.intern(o), o);
  assertEquals(objects, before);
  // v1, PersistentVolumeClaim, shop, ReadWriteOnce, 1Gi, Bound, Resized; db-N-data and db-N for N = 1, 2. The
  // uid, the resourceVersion and the 300-character message are not pooled.
  assertEquals(pool.size, 7 + 4);
});

Deno.test("the pool never holds more than its capacity", () => {
  const pool = new StringPool(10);
  for (let i = 0; i < 1000; i++) {
    pool.intern({ a: [`s${i}`, { b: `t${i}` }] });
    assert(pool.size <= 10, `size ${pool.size} after ${i + 1} objects`);
  }
  assertEquals(pool.one("x"), "x");
});

Deno.test("a deep object is interned without overflowing the stack", () => {
  let deep: Record<string, unknown> = { leaf: "v" };
  for (let i = 0; i < 200_000; i++) deep = { next: deep, k: "same" };
  const pool = new StringPool();
  pool.intern(deep);
  assertEquals(pool.size, 2);
});

import { assertEquals } from "./_assert.ts";
import { leadingOverlaps, takenBeforeExpiry } from "./_lease_history.ts";

const rec = (holder: string, renew: string, acquire = renew, duration = 6) => ({
  metadata: { name: "l" },
  spec: { holderIdentity: holder, renewTime: renew, acquireTime: acquire, leaseDurationSeconds: duration },
});

Deno.test("takenBeforeExpiry: a take after expiry or through a release is fine; one before expiry is reported", () => {
  const ok = [
    rec("a", "2026-12-04T06:00:00.000000Z"),
    rec("b", "2026-12-04T06:00:06.500000Z"), // 6.5 s after a's last renewal of a 6 s lease
    rec("", "2026-12-04T06:00:07.000000Z"), // b released it
    rec("c", "2026-12-04T06:00:07.100000Z"),
  ];
  assertEquals(takenBeforeExpiry(ok), []);
  const stolen = [rec("a", "2026-12-04T06:00:00.000000Z"), rec("b", "2026-12-04T06:00:05.900000Z")];
  assertEquals(takenBeforeExpiry(stolen).length, 1);
  assertEquals(
    takenBeforeExpiry([rec("a", "x"), rec("b", "y")]).length,
    1,
    "unreadable times are not a pass",
  );
});

Deno.test("leadingOverlaps: back-to-back and same-holder intervals are fine; two holders at once are reported", () => {
  const x = (cluster: string, holder: string, from: number, to: number) => ({ cluster, holder, from, to });
  assertEquals(leadingOverlaps([x("c1", "a", 0, 10), x("c1", "b", 10, 20), x("c2", "a", 5, 15)]), []);
  assertEquals(leadingOverlaps([x("c1", "a", 0, 10), x("c1", "a", 5, 20)]), []);
  assertEquals(leadingOverlaps([x("c1", "a", 0, 10), x("c1", "b", 30, 40), x("c1", "c", 9, 12)]).length, 1);
});

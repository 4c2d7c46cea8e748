import { assertEquals } from "../tests/_assert.ts";
import type { KubeObject } from "./kube/client.ts";
import { planMembership, type Sightings, slotName } from "./membership.ts";

const LEASE = "mysql-operator";
const slot = (n: number, holder: string, renew = "t0", duration = 15): KubeObject => ({
  metadata: { name: slotName(LEASE, n), namespace: "ns", resourceVersion: "1" },
  spec: { holderIdentity: holder, renewTime: renew, leaseDurationSeconds: duration },
});
const cluster = (name: string, holder: string): KubeObject => ({
  metadata: { name },
  spec: { holderIdentity: holder },
});

Deno.test("membership: the first replica creates slot 0; the cluster Lease and other Leases are not slots", () => {
  const seen: Sightings = new Map();
  const p = planMembership([cluster(LEASE, "x"), cluster("kube-scheduler", "y")], seen, "me", LEASE, 0);
  assertEquals(p.write, { name: "mysql-operator-member-0", create: true });
  assertEquals(p.alive, []);
  assertEquals(p.free, []);
});

Deno.test("membership: its own slot is renewed; others' live slots are counted; a new one comes after the last", () => {
  const seen: Sightings = new Map();
  const slots = [slot(0, "a"), slot(1, "me"), slot(3, "b")];
  const p = planMembership(slots, seen, "me", LEASE, 0);
  assertEquals(p.write.name, "mysql-operator-member-1");
  assertEquals(p.write.create, false);
  assertEquals(p.alive, ["a", "b", "me"]);
  const q = planMembership([slot(0, "a"), slot(3, "b")], new Map(), "new", LEASE, 0);
  assertEquals(q.write, { name: "mysql-operator-member-4", create: true });
});

Deno.test("membership: a freed slot is taken before a new one is made", () => {
  const p = planMembership([slot(0, "a"), slot(1, ""), slot(2, "")], new Map(), "me", LEASE, 0);
  assertEquals([p.write.name, p.write.create], ["mysql-operator-member-1", false]);
});

Deno.test("membership: a slot unchanged for its duration is dead: not counted, freed, and its change clears it", () => {
  const seen: Sightings = new Map();
  planMembership([slot(0, "a", "t0"), slot(1, "me", "t0")], seen, "me", LEASE, 0);
  // 10 s later a renewed, the other did not change: both alive (15 s leases).
  let p = planMembership([slot(0, "a", "t1"), slot(1, "me", "t1")], seen, "me", LEASE, 10_000);
  assertEquals(p.alive, ["a", "me"]);
  assertEquals(p.changed, ["a", "me"]);
  // 26 s: a unchanged since 10 s (16 s): dead, freed; our own slot, renewed, is written again.
  p = planMembership([slot(0, "a", "t1"), slot(1, "me", "t2")], seen, "me", LEASE, 26_000);
  assertEquals(p.alive, ["me"]);
  assertEquals(p.free.map((o) => o.metadata?.name), ["mysql-operator-member-0"]);
  assertEquals(p.write.name, "mysql-operator-member-1");
  // A newcomer with no slot takes the dead one rather than adding one (the slots never outgrow the replicas).
  const newcomer = new Map(seen);
  const q = planMembership([slot(0, "a", "t1"), slot(1, "me", "t2")], newcomer, "new", LEASE, 26_000);
  assertEquals([q.write.name, q.free.length], ["mysql-operator-member-0", 0]);
  // Slots no longer listed are forgotten.
  planMembership([slot(1, "me", "t3")], seen, "me", LEASE, 27_000);
  assertEquals([...seen.keys()], ["mysql-operator-member-1"]);
});

Deno.test("membership: the first sighting of a record is not a change (a restart does not clear suspicions)", () => {
  const p = planMembership([slot(0, "a", "t5")], new Map(), "me", LEASE, 0);
  assertEquals(p.changed, []);
  assertEquals(p.alive, ["a"]);
});

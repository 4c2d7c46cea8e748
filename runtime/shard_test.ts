import { assert, assertEquals } from "../tests/_assert.ts";
import { ShardBook, shardCap, toHandOver } from "./shard.ts";

Deno.test("shardCap: ceil(clusters / replicas), never 0 while there is a cluster", () => {
  const rows: Array<[clusters: number, replicas: number, cap: number]> = [
    [9, 3, 3],
    [9, 2, 5],
    [9, 1, 9],
    [2, 3, 1],
    [1, 2, 1],
    [10, 3, 4],
    [0, 3, 0],
    [4, 0, 4], // no replica seen (not even this one): lead what it can
  ];
  for (const [c, r, cap] of rows) assertEquals(shardCap(c, r), cap, `${c} clusters / ${r} replicas`);
});

Deno.test("toHandOver: the same clusters on every call, as many as above the cap, none at or below it", () => {
  const held = ["a", "b", "c", "d", "e"];
  const first = toHandOver("me", held, 3);
  assertEquals(first.length, 2);
  assertEquals(toHandOver("me", [...held].reverse(), 3), first, "independent of the order held");
  // Handing over one of them leaves the other as the one to hand over next.
  assertEquals(toHandOver("me", held.filter((c) => c !== first[0]), 3), [first[1]]);
  assertEquals(toHandOver("me", held, 5), []);
  assertEquals(toHandOver("me", held, 6), []);
  // Processes rank differently, so they do not all keep the same clusters.
  const others = ["p1", "p2", "p3", "p4", "p5", "p6"].map((id) => toHandOver(id, held, 4)[0]);
  assert(new Set(others).size > 1, `every identity hands over ${others[0]}`);
});

Deno.test("ShardBook: reserves up to the cap across clusters; a pending attempt counts; settling frees it", () => {
  const b = new ShardBook("me");
  b.setClusters(9);
  b.members("c1", ["me", "r2", "r3"]);
  assertEquals(b.live(), ["me", "r2", "r3"]);
  assertEquals(b.cap(), 3);
  assertEquals(["c1", "c2", "c3"].map((c) => b.reserve(c)), [true, true, true]);
  assertEquals(b.reserve("c4"), false, "three attempts under way fill the share");
  b.settle("c1", true);
  b.settle("c2", false);
  b.settle("c3", true);
  assertEquals(b.held, 2);
  assertEquals(b.reserve("c4"), true, "a failed attempt gave its place back");
  b.settle("c4", true);
  assertEquals(b.reserve("c5"), false);
  assertEquals(b.reserve("c1"), true, "a cluster led is always renewed");
  assertEquals(["c1", "c3", "c4"].some((c) => b.excess(c)), false);
});

Deno.test("ShardBook: a replica that joins lowers the share and the excess is handed over; one that dies raises it", () => {
  const b = new ShardBook("me");
  b.setClusters(9);
  for (let i = 1; i <= 5; i++) {
    assert(b.reserve(`c${i}`));
    b.settle(`c${i}`, true);
  }
  b.members("c1", ["me", "r2"]);
  assertEquals(b.cap(), 5);
  b.members("c2", ["r3"]); // seen in another cluster only: counted
  assertEquals(b.live(), ["me", "r2", "r3"]);
  const excess = ["c1", "c2", "c3", "c4", "c5"].filter((c) => b.excess(c));
  assertEquals(excess.length, 2);
  assertEquals(excess, toHandOver("me", ["c1", "c2", "c3", "c4", "c5"], 3));
  // r3's cluster Lease ran out: counted out at once, before its member slot expires.
  b.suspect("r3");
  assertEquals(b.live(), ["me", "r2"]);
  assertEquals(b.cap(), 5);
  // Its member record changed after all (it lost one cluster, not its life): counted again.
  b.members("c2", ["r3"], ["r3"]);
  assertEquals(b.live(), ["me", "r2", "r3"]);
  // A cluster that cannot be read vouches for nobody.
  b.members("c2", []);
  assertEquals(b.live(), ["me", "r2"]);
  b.suspect("me");
  assertEquals(b.live().includes("me"), true, "this process never suspects itself");
});

Deno.test("ShardBook: suspects are forgotten once no cluster lists them (the set stays bounded)", () => {
  const b = new ShardBook("me");
  b.setClusters(2);
  b.members("c1", ["r2"]);
  b.suspect("r2");
  b.members("c1", []);
  b.members("c1", ["r2"]); // a new process under the old name, listed again without a change seen yet
  assertEquals(b.live(), ["me", "r2"]);
  b.forget("c1");
  assertEquals(b.live(), ["me"]);
});

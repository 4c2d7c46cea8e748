import { assertEquals } from "../tests/_assert.ts";
import { PASS_DUE_THRESHOLD_MS, passDueCheck, ProgressCheck } from "./progress_check.ts";
import { getLogger } from "@logtape/logtape";
import type { KubeObject } from "./kube/client.ts";

const obj = (name: string, due: boolean): KubeObject => ({
  metadata: { namespace: "ns", name },
  status: { due },
});

Deno.test("the oldest due object's age is measured from when it was first seen due; late ones are reported once per threshold", () => {
  const late: Array<[string, number]> = [];
  const check = new ProgressCheck({
    due: (o) => Boolean(o.status?.due),
    thresholdMs: 60_000,
    onLate: (key, age) => late.push([key, age]),
  });
  assertEquals(check.tick([obj("a", true), obj("b", false)], 0), 0);
  assertEquals(check.tick([obj("a", true), obj("b", true)], 30_000), 30_000);
  assertEquals(late, []);
  assertEquals(check.tick([obj("a", true), obj("b", true)], 60_000), 60_000);
  assertEquals(late, [["ns/a", 60_000]]);
  check.tick([obj("a", true), obj("b", true)], 90_000); // b is late now; a was reported 30 s ago
  assertEquals(late, [["ns/a", 60_000], ["ns/b", 60_000]]);
  check.tick([obj("a", true), obj("b", true)], 120_000); // a again, a threshold after its first report
  assertEquals(late.at(-1), ["ns/a", 120_000]);
});

Deno.test("an object that progressed (or went away) starts from zero if it is due again, and is not kept", () => {
  const late: string[] = [];
  const check = new ProgressCheck({
    due: (o) => Boolean(o.status?.due),
    thresholdMs: 10,
    onLate: (k) => late.push(k),
  });
  check.tick([obj("a", true)], 0);
  assertEquals(check.tick([obj("a", false)], 5), 0);
  assertEquals(check.due, 0);
  assertEquals(check.tick([obj("a", true)], 8), 0);
  assertEquals(check.tick([obj("a", true)], 15), 7);
  assertEquals(late, []);
  check.tick([], 100);
  assertEquals(check.due, 0);
});

Deno.test("passDueCheck queues an object again once it is late by the threshold, and not before", () => {
  const queued: string[] = [];
  const check = passDueCheck((o) => Boolean(o.status?.due), getLogger(["test"]), (key) => queued.push(key));
  check.tick([obj("a", true), obj("b", false)], 0);
  check.tick([obj("a", true), obj("b", false)], PASS_DUE_THRESHOLD_MS - 1);
  assertEquals(queued, []);
  check.tick([obj("a", true), obj("b", false)], PASS_DUE_THRESHOLD_MS);
  assertEquals(queued, ["ns/a"]);
});

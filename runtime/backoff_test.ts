import { assert, assertEquals } from "../tests/_assert.ts";
import { backoffDelay, sleep } from "./backoff.ts";

Deno.test("backoff doubles, caps and jitters within [50%, 100%]", () => {
  const opts = { baseMs: 100, maxMs: 1000 };
  assertEquals(backoffDelay(1, opts, () => 1), 100);
  assertEquals(backoffDelay(2, opts, () => 1), 200);
  assertEquals(backoffDelay(4, opts, () => 1), 800);
  assertEquals(backoffDelay(10, opts, () => 1), 1000);
  assertEquals(backoffDelay(10, opts, () => 0), 500);
  for (let i = 1; i < 50; i++) {
    const d = backoffDelay(i, opts);
    assert(d >= 50 && d <= 1000, `delay ${d} out of range`);
  }
});

Deno.test("sleep ends early when aborted", async () => {
  const ctl = new AbortController();
  const started = Date.now();
  const p = sleep(60_000, ctl.signal);
  ctl.abort();
  await p;
  assert(Date.now() - started < 30_000);
});

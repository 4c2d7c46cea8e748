import { assertEquals, assertRejects } from "../../tests/_assert.ts";
import { jsonLines } from "./json_lines.ts";

const enc = new TextEncoder();

Deno.test("jsonLines: one object per line, lines split across chunks, blank lines skipped", async () => {
  const body = ReadableStream.from(['{"a":1}\n{"b"', ':2}\n\n{"c":3}\n'].map((t) => enc.encode(t)));
  const out: unknown[] = [];
  for await (const o of jsonLines(body, new AbortController().signal)) out.push(o);
  assertEquals(out, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

Deno.test("jsonLines: an abort ends a read that would never return (a stream that neither sends nor ends)", async () => {
  // A body whose pull never settles: without the race, the loop would wait for it forever.
  const body = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(enc.encode('{"a":1}\n')),
    pull: () => new Promise<void>(() => {}),
  });
  const ctl = new AbortController();
  const seen: unknown[] = [];
  await assertRejects(async () => {
    for await (const o of jsonLines(body, ctl.signal)) {
      seen.push(o);
      setTimeout(() => ctl.abort(new Error("stopped")), 10);
    }
  }, "stopped");
  assertEquals(seen, [{ a: 1 }]);
});

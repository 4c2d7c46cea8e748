import { assert, assertEquals, assertRejects } from "../../tests/_assert.ts";
import { jsonLines } from "./json_lines.ts";

const enc = new TextEncoder();

Deno.test("jsonLines: one object per line, lines split across chunks, blank lines skipped", async () => {
  const body = ReadableStream.from(['{"a":1}\n{"b"', ':2}\n\n{"c":3}\n'].map((t) => enc.encode(t)));
  const out: unknown[] = [];
  for await (const o of jsonLines(body, new AbortController().signal)) out.push(o);
  assertEquals(out, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

Deno.test("jsonLines: a line over many chunks, chunks that end or start at a line's end, CRLF, a line of blanks, no last newline", async () => {
  const big = JSON.stringify({ script: "x".repeat(5000), n: "名前" });
  const text = `${big}\r\n{"a":1}\n\n \t\r\n${big}\n{"tail":true}`;
  // Every split into chunks of these sizes, some cutting a multi-byte character in two.
  for (const size of [1, 2, 7, 64, 4096, text.length]) {
    const bytes = enc.encode(text), chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
    // The last line has no newline: the stream ended inside an event, which is not one.
    const want = [JSON.parse(big), { a: 1 }, JSON.parse(big)];
    const out: unknown[] = [];
    for await (const o of jsonLines(ReadableStream.from(chunks), new AbortController().signal)) out.push(o);
    assertEquals(out, want, `chunks of ${size}`);
    // A byte stream (as a fetch body is) is read into one buffer, here also of sizes that cut characters.
    for (const buffer of [1, 3, 4096]) {
      const read: unknown[] = [];
      for await (const o of jsonLines(byteStream(chunks), new AbortController().signal, buffer)) read.push(o);
      assertEquals(read, want, `chunks of ${size} read into a buffer of ${buffer}`);
    }
  }
});

function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull: (c) => {
      if (i < chunks.length) return c.enqueue(chunks[i++].slice());
      c.close();
      c.byobRequest?.respond(0); // a pending BYOB read ends only when told so
    },
  });
}

Deno.test("jsonLines reads a fetch body into its one buffer, never into a new one per read", async () => {
  const ac = new AbortController();
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i, pad: "p".repeat(i * 100) }) + "\n");
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
    () => new Response(ReadableStream.from(lines.map((l) => enc.encode(l)))),
  );
  const views: number[] = [];
  const read = ReadableStreamBYOBReader.prototype.read;
  ReadableStreamBYOBReader.prototype.read = function <V extends ArrayBufferView>(
    this: ReadableStreamBYOBReader,
    view: V,
  ) {
    views.push(view.byteLength);
    return read.call(this, view) as Promise<ReadableStreamReadResult<V>>;
  } as typeof read;
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    const out: unknown[] = [];
    for await (const o of jsonLines(res.body!, new AbortController().signal, 1024)) out.push(o);
    assertEquals(out, lines.map((l) => JSON.parse(l)));
    // 125 KB through a 1 KiB buffer: every read was into it, whole.
    assert(views.length > 100, `${views.length} reads`);
    assertEquals(new Set(views), new Set([1024]));
  } finally {
    ReadableStreamBYOBReader.prototype.read = read;
    ac.abort();
    await server.finished;
  }
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

Deno.test("jsonLines keeps nothing of the lines it has read while the watch goes on (48 MB through one reader)", async () => {
  // A watch lives for minutes: whatever a read leaves behind grows with every event until it ends. Measured in a
  // process of its own, with a full GC before each reading; inside the loop, so the reader is still open.
  const code = `
    import { jsonLines } from ${JSON.stringify(new URL("./json_lines.ts", import.meta.url).href)};
    const line = new TextEncoder().encode(JSON.stringify({ type: "MODIFIED", object: { pad: "x".repeat(1500) } }) + "\\n");
    let sent = 0;
    const body = new ReadableStream({ pull: (c) => sent++ < 32000 ? c.enqueue(line) : new Promise(() => {}) });
    const heap = () => (globalThis.gc(), globalThis.gc(), Deno.memoryUsage().heapUsed);
    let n = 0, before = 0;
    for await (const _ of jsonLines(body, new AbortController().signal)) {
      if (++n === 1000) before = heap();
      if (n === 32000) { console.log(JSON.stringify({ grown: heap() - before })); break; }
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0);
  const { grown } = JSON.parse(new TextDecoder().decode(out.stdout));
  // 31,000 lines of 1.5 KB went through: a reader that kept them would have grown by about 46 MB.
  assert(
    grown < 4_000_000,
    `the heap grew by ${(grown / 1e6).toFixed(1)} MB while 46 MB of lines went through`,
  );
});

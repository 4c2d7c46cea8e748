import { assert, assertEquals } from "../../tests/_assert.ts";
import { KubeClient } from "./client.ts";

Deno.test("watch: an abort ends the stream at once, even while the server sends nothing (no wait for its timeout)", async () => {
  // A watch endpoint that sends one event and then holds the stream open, as an API server does between events.
  const held: Array<ReadableStreamDefaultController<Uint8Array>> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        held.push(c);
        c.enqueue(
          new TextEncoder().encode(
            JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } }) + "\n",
          ),
        );
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const client = new KubeClient({ server: `http://127.0.0.1:${server.addr.port}` });
  try {
    const ctl = new AbortController();
    const seen: string[] = [];
    const started = performance.now();
    const consuming = (async () => {
      try {
        for await (const ev of client.watch("/api/v1/configmaps", {}, ctl.signal)) {
          seen.push(ev.object.metadata?.name ?? "");
          ctl.abort(new Error("stop"));
        }
      } catch (err) {
        return (err as Error).message;
      }
      return "ended";
    })();
    const outcome = await consuming;
    const ms = performance.now() - started;
    assertEquals(seen, ["a"]);
    assert(outcome === "stop" || outcome === "ended", outcome);
    assert(ms < 5_000, `the watch ended ${ms} ms after the abort`);
  } finally {
    for (const c of held) c.close();
    client.close();
    await server.shutdown();
  }
});

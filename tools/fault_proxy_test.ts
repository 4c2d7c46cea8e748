import { assert, assertEquals } from "../tests/_assert.ts";
import { startProxy } from "./fault_proxy.ts";

/** An echo server on a port the system picks; returns its URL and a closer. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of listener) {
      conns.add(c);
      c.readable.pipeTo(c.writable).catch(() => {}).finally(() => conns.delete(c));
    }
  })().catch(() => {});
  return {
    url: `https://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of conns) c.close();
    },
  };
}

async function connect(url: string): Promise<Deno.Conn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
}

/** Sends `text` and reads it back; undefined when the connection ends first. */
async function echo(conn: Deno.Conn, text: string): Promise<string | undefined> {
  await conn.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(text.length);
  let got = 0;
  while (got < text.length) {
    const n = await conn.read(buf.subarray(got)).catch(() => null);
    if (n === null) return undefined;
    got += n;
  }
  return new TextDecoder().decode(buf);
}

Deno.test("fault proxy: passes bytes; delay holds them at least that long; freeze holds them until restore", async () => {
  const server = echoServer();
  const proxy = startProxy(server.url);
  const conn = await connect(proxy.url);
  try {
    assertEquals(await echo(conn, "hello"), "hello");
    proxy.delay(300);
    const t0 = performance.now();
    assertEquals(await echo(conn, "slow"), "slow");
    // Both directions hold the chunk: at least twice the delay, whatever the machine's speed.
    assert(performance.now() - t0 >= 600, `delayed round trip took ${performance.now() - t0} ms`);
    proxy.restore();
    proxy.freeze();
    let answered = false;
    const pending = echo(conn, "held").then((r) => {
      answered = true;
      return r;
    });
    // A round trip that passes takes a few ms (above); a frozen one must still be waiting well after that.
    await new Promise((r) => setTimeout(r, 300));
    assert(!answered, "a frozen connection forwarded bytes");
    proxy.restore();
    assertEquals(await pending, "held");
  } finally {
    conn.close();
    await proxy.close();
    server.close();
  }
});

Deno.test("fault proxy: cut ends open connections and every new one until restore, and keeps its port", async () => {
  const server = echoServer();
  const proxy = startProxy(server.url);
  const conn = await connect(proxy.url);
  try {
    assertEquals(await echo(conn, "a"), "a");
    proxy.cut();
    assertEquals(await echo(conn, "b").catch(() => undefined), undefined);
    const during = await connect(proxy.url).catch(() => undefined);
    if (during) {
      assertEquals(await echo(during, "x").catch(() => undefined), undefined, "a cut proxy forwarded bytes");
      during.close();
    }
    // The port stays the proxy's during the cut: had it given the port up, any other process could take it.
    let taken = false;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: Number(new URL(proxy.url).port) }).close();
      taken = true;
    } catch (e) {
      assert(e instanceof Deno.errors.AddrInUse, `unexpected: ${e}`);
    }
    assert(!taken, "the cut proxy gave its port up");
    proxy.restore();
    const again = await connect(proxy.url);
    assertEquals(await echo(again, "c"), "c");
    again.close();
  } finally {
    conn.close();
    await proxy.close();
    server.close();
  }
});

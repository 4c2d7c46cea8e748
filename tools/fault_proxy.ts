/**
 * A TCP proxy in front of an API server, for tests of connection failures that really happen: `cut()` closes every
 * connection and ends each new one at once (a dropped watch, a dead network; the listener stays open, so the port
 * stays the proxy's: a port given up for the cut could be taken by any other process meanwhile), `freeze()` keeps connections open but stops
 * forwarding bytes (a half-open connection: only an idle timeout notices), `restore()` ends either.
 * TLS passes through untouched (the proxy listens on 127.0.0.1, which the API server's certificate names).
 *
 * @module
 */

/** A running proxy. */
export interface ApiProxy {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): void;
  freeze(): void;
  /** Holds each chunk `ms` before forwarding it (in order), until restore(). */
  delay(ms: number): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an https URL). */
export function startProxy(target: string): ApiProxy {
  const { hostname, port } = new URL(target);
  const conns = new Set<Deno.Conn>();
  let frozen = false;
  let delayMs = 0;
  let accepted = 0;
  const thawWaiters: Array<() => void> = [];
  let cut = false;

  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        while (frozen) await new Promise<void>((r) => thawWaiters.push(r));
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* closed */ }
    try {
      from.close();
    } catch { /* already */ }
    try {
      to.close();
    } catch { /* already */ }
  };

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const listenPort = (listener.addr as Deno.NetAddr).port;
  (async () => {
    for await (const client of listener) {
      accepted++;
      let upstream: Deno.Conn | undefined;
      if (!cut) {
        upstream = await Deno.connect({ hostname: hostname.replace(/^\[|\]$/g, ""), port: Number(port) })
          .catch(() => undefined);
      }
      // Checked again after the connect: a cut while it was under way ends this connection too.
      if (cut || !upstream) {
        client.close();
        upstream?.close();
        continue;
      }
      const up = upstream;
      conns.add(client);
      conns.add(up);
      Promise.all([pipe(client, up), pipe(up, client)]).finally(() => {
        conns.delete(client);
        conns.delete(up);
      });
    }
  })().catch(() => {});

  const closeAll = () => {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already */ }
    }
    conns.clear();
  };

  return {
    url: `https://127.0.0.1:${listenPort}`,
    get accepted() {
      return accepted;
    },
    cut() {
      cut = true;
      closeAll();
    },
    freeze() {
      frozen = true;
    },
    delay(ms: number) {
      delayMs = ms;
    },
    restore() {
      frozen = false;
      delayMs = 0;
      cut = false;
      for (const w of thawWaiters.splice(0)) w();
    },
    async close() {
      frozen = false;
      for (const w of thawWaiters.splice(0)) w();
      cut = true;
      try {
        listener.close();
      } catch { /* already */ }
      closeAll();
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}

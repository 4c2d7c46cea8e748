import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { listeningPorts, pickPorts, PORT_CEILING, portFree, portsOf } from "./ports.ts";

const all = () => true;

Deno.test("pickPorts: six distinct ports, highest first, below the NodePort range", () => {
  const p = portsOf(pickPorts(new Set(), all, undefined));
  deepStrictEqual(p, [
    PORT_CEILING,
    PORT_CEILING - 1,
    PORT_CEILING - 2,
    PORT_CEILING - 3,
    PORT_CEILING - 4,
    29994,
  ]);
  ok(p.every((n) => n < 30000));
});

Deno.test("pickPorts never hands out a recorded port (a stopped cluster's ports are taken too)", () => {
  const first = pickPorts(new Set(), all, undefined);
  const second = pickPorts(new Set(portsOf(first)), all, undefined);
  equal(new Set([...portsOf(first), ...portsOf(second)]).size, 12);
});

Deno.test("pickPorts skips ports that are bound now and the kernel's ephemeral range", () => {
  const busy = new Set([29999, 29997]);
  const p = portsOf(pickPorts(new Set(), (n) => !busy.has(n), [29990, 29995], 29980, 29999));
  deepStrictEqual(p, [29998, 29996, 29989, 29988, 29987, 29986]);
});

Deno.test("pickPorts fails clearly when the range is used up", () => {
  throws(() => pickPorts(new Set([10, 11]), all, undefined, 7, 12), /no 6 free ports left between 7 and 12/);
});

Deno.test("portFree: false for a port held by a listener", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    equal(portFree((l.addr as Deno.NetAddr).port), false);
  } finally {
    l.close();
  }
});

Deno.test("listeningPorts: the kernel's table has a listener's port while it listens, not after", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  equal(listeningPorts()?.has(port), true);
  l.close();
  equal(listeningPorts()?.has(port), false);
});

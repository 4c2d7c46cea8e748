import { parse, stringify } from "yaml";
import { assertEquals } from "../../tests/_assert.ts";
import { mergeKubeconfigs } from "./kubeconfig.ts";

function single(name: string, port: number): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: `kwok-${name}`, cluster: { server: `https://127.0.0.1:${port}` } }],
    users: [{ name: `kwok-${name}`, user: { token: name } }],
    contexts: [{ name: `kwok-${name}`, context: { cluster: `kwok-${name}`, user: `kwok-${name}` } }],
    "current-context": `kwok-${name}`,
  });
}

Deno.test("mergeKubeconfigs keeps one entry per name and the wanted current context", () => {
  const merged = parse(mergeKubeconfigs([single("a", 1), single("b", 2), single("a", 3)], "kwok-b"));
  assertEquals(merged.contexts.map((c: { name: string }) => c.name), ["kwok-a", "kwok-b"]);
  assertEquals(merged.clusters[0].cluster.server, "https://127.0.0.1:3");
  assertEquals(merged["current-context"], "kwok-b");
});

Deno.test("mergeKubeconfigs falls back to the first context when the wanted one is gone", () => {
  assertEquals(parse(mergeKubeconfigs([single("a", 1)], "kwok-gone"))["current-context"], "kwok-a");
  assertEquals(parse(mergeKubeconfigs([], "kwok-gone"))["current-context"], "");
});

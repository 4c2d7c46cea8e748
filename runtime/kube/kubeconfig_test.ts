import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { Kubeconfig } from "./kubeconfig.ts";

const TEXT = `
apiVersion: v1
kind: Config
current-context: b
clusters:
  - name: c1
    cluster: { server: "https://127.0.0.1:6443/", certificate-authority-data: Q0E= }
  - name: c2
    cluster: { server: "https://h:1", certificate-authority: ca.crt, insecure-skip-tls-verify: true }
users:
  - name: u1
    user: { client-certificate-data: Q0VSVA==, client-key-data: S0VZ }
  - name: u2
    user: { client-certificate: certs/u.crt, client-key: /abs/u.key, token-file: tok }
  - name: u3
    user: { exec: { command: aws, apiVersion: client.authentication.k8s.io/v1 } }
contexts:
  - name: a
    context: { cluster: c1, user: u1, namespace: ns }
  - name: b
    context: { cluster: c2, user: u2 }
`;

Deno.test("Kubeconfig.parse: entries in client-node's shape, relative paths against the file's directory", () => {
  const kc = Kubeconfig.parse(TEXT, "/home/x/.kube");
  assertEquals(kc.getCurrentContext(), "b");
  assertEquals(kc.getContexts().map((c) => c.name), ["a", "b"]);
  assertEquals(kc.getContextObject("a"), { name: "a", cluster: "c1", user: "u1", namespace: "ns" });
  const c1 = kc.getCluster("c1")!, c2 = kc.getCluster("c2")!;
  assertEquals([c1.server, c1.caData, c1.skipTLSVerify], ["https://127.0.0.1:6443", "Q0E=", false]);
  assertEquals([c2.caFile, c2.skipTLSVerify], ["/home/x/.kube/ca.crt", true]);
  const u2 = kc.getUser("u2")!;
  assertEquals([u2.certFile, u2.keyFile, u2.tokenFile], [
    "/home/x/.kube/certs/u.crt",
    "/abs/u.key",
    "/home/x/.kube/tok",
  ]);
  assertEquals(kc.getUser("u1")!.certData, "Q0VSVA==");
  assertEquals((kc.getUser("u3")!.exec as { command: string }).command, "aws");
  assertEquals(kc.getUser("nope"), undefined);
});

Deno.test("Kubeconfig.parse: malformed entries are errors that say where", () => {
  assertThrows(() => Kubeconfig.parse("clusters: [{name: x, cluster: {}}]"), "clusters[0].cluster.server");
  assertThrows(() => Kubeconfig.parse("contexts: [{context: {}}]"), "contexts[0].name");
  assertThrows(() => Kubeconfig.parse("- a"), "not a kubeconfig");
  assertEquals(Kubeconfig.parse("").getContexts(), []);
});

Deno.test("Kubeconfig.parse: YAML 1.2's core schema (a timestamp stays text); broken YAML and duplicate keys throw", () => {
  const kc = Kubeconfig.parse(
    "users: [{name: u, user: {auth-provider: {name: oidc, config: {expiry: 2026-01-01T00:00:00Z}}}}]",
  );
  const provider = kc.getUser("u")!.authProvider as { config: { expiry: unknown } };
  assertEquals(provider.config.expiry, "2026-01-01T00:00:00Z");
  assertThrows(() => Kubeconfig.parse("clusters: [{name: x"));
  assertThrows(() => Kubeconfig.parse("current-context: a\ncurrent-context: b\n"));
});

/**
 * Connection reuse, measured: 200 sequential GETs of one object against a local API server with
 * (a) @kubernetes/client-node's CoreV1Api as it ships (a new https.Agent, so a new TLS connection, per request),
 * (b) node:https with a non-keep-alive agent (the same behaviour without client-node's overhead),
 * (c) node:https with one keep-alive agent (one TLS connection reused),
 * (d) the operator's KubeClient: Deno fetch with Deno.createHttpClient (pooled, HTTP/2).
 *
 * @module
 */
import https from "node:https";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../runtime/kube/client.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";

/** Milliseconds for `count` sequential GETs, per client. */
export interface HttpClientsResult {
  count: number;
  ms: Record<string, number>;
}

function nodeGet(agent: https.Agent, url: URL, conn: { caPem?: string; certPem?: string; keyPem?: string }) {
  return new Promise<void>((resolve, reject) => {
    const req = https.request(url, {
      agent,
      ca: conn.caPem,
      cert: conn.certPem,
      key: conn.keyPem,
      headers: { accept: "application/json" },
    }, (res) => {
      res.on("data", () => {});
      res.on("end", () => res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Runs the comparison against `context` of `kubeconfigPath`. */
export async function httpClients(
  kubeconfigPath: string,
  context: string,
  count = 200,
): Promise<HttpClientsResult> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  kc.setCurrentContext(context);
  const conn = await connectionFor(loadKubeconfig({ path: kubeconfigPath }), context);
  const url = new URL("/api/v1/namespaces/default", conn.server);
  const ms: Record<string, number> = {};
  const time = async (name: string, once: () => Promise<unknown>) => {
    await once(); // warm-up (module init, first handshake)
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await once();
    ms[name] = Math.round(performance.now() - t0);
  };
  const api = kc.makeApiClient(CoreV1Api);
  await time("client-node (new TLS connection per request)", () => api.readNamespace({ name: "default" }));
  const fresh = new https.Agent({ keepAlive: false, ca: conn.caPem, cert: conn.certPem, key: conn.keyPem });
  await time("node:https, no keep-alive", () => nodeGet(fresh, url, conn));
  const keep = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: conn.caPem,
    cert: conn.certPem,
    key: conn.keyPem,
  });
  await time("node:https, one keep-alive agent", () => nodeGet(keep, url, conn));
  keep.destroy();
  const client = new KubeClient(conn);
  await time("KubeClient (Deno fetch + createHttpClient, HTTP/2)", () => client.get(url.pathname));
  client.close();
  return { count, ms };
}

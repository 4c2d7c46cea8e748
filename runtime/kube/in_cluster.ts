/**
 * The in-cluster connection: the pod's service-account token (re-read every minute, since kubelet rotates it), CA
 * and the API server from KUBERNETES_SERVICE_HOST/PORT.
 *
 * @module
 */
import type { Connection } from "./client.ts";

/** Where kubelet mounts the service account. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The namespace the pod runs in, if in a cluster. */
export function podNamespace(dir = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    return Deno.readTextFileSync(`${dir}/namespace`).trim();
  } catch {
    return undefined;
  }
}

/** Builds the in-cluster connection; throws a clear error outside a cluster. */
export function inClusterConnection(dir = SERVICE_ACCOUNT_DIR): Connection {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST"), port = Deno.env.get("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new Error("--in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod?)");
  }
  let caPem: string;
  try {
    caPem = Deno.readTextFileSync(`${dir}/ca.crt`);
  } catch (err) {
    throw new Error(`--in-cluster: cannot read ${dir}/ca.crt: ${(err as Error).message}`);
  }
  let token = "", readAt = 0;
  const authHeaders = () => {
    if (Date.now() - readAt > 60_000) {
      token = Deno.readTextFileSync(`${dir}/token`).trim();
      readAt = Date.now();
    }
    return Promise.resolve({ authorization: `Bearer ${token}` });
  };
  const server = host.includes(":") ? `https://[${host}]:${port}` : `https://${host}:${port}`;
  return { server, caPem, authHeaders };
}

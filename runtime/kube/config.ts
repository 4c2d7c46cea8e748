/**
 * Kubeconfig loading and context selection. The file is parsed by kubeconfig.ts (client-node's shape, without
 * loading client-node: 74 MB of resident memory); certificates and bearer tokens are handled here, and only
 * exec plugins, auth providers and basic auth load `@kubernetes/client-node` to compute their headers. The
 * transport is our own {@linkcode KubeClient}.
 *
 * @module
 */
import type { Connection } from "./client.ts";
import {
  Kubeconfig,
  type KubeconfigCluster,
  type KubeconfigContext,
  type KubeconfigUser,
} from "./kubeconfig.ts";

/** A loaded kubeconfig (the name callers used when it was client-node's class). */
export type KubeConfig = Kubeconfig;

/** Name used for the in-cluster context (service-account token). */
export const IN_CLUSTER = "in-cluster";

/** Where a set of clusters comes from. */
export interface KubeconfigSource {
  /** Path of the kubeconfig; undefined: KUBECONFIG, then ~/.kube/config, then in-cluster. */
  path?: string;
}

/** A context that could not be turned into a connection, with the reason. */
export class ContextError extends Error {
  /** The context's name. */
  readonly context: string;
  /** Creates an error naming the context. */
  constructor(context: string, message: string) {
    super(`context "${context}": ${message}`);
    this.name = "ContextError";
    this.context = context;
  }
}

/** Loads a kubeconfig. Throws a clear error for an unreadable or malformed file. */
export function loadKubeconfig(source: KubeconfigSource): KubeConfig {
  if (source.path) {
    try {
      return Kubeconfig.load(source.path);
    } catch (err) {
      throw new Error(`cannot load kubeconfig ${source.path}: ${(err as Error).message}`);
    }
  }
  const env = Deno.env.get("KUBECONFIG");
  if (env) {
    // Like kubectl, the first file of a colon-separated KUBECONFIG is the one we read.
    const first = env.split(":").find((p) => p) ?? env;
    return loadKubeconfig({ path: first });
  }
  const home = Deno.env.get("HOME");
  const defaultPath = home ? `${home}/.kube/config` : undefined;
  if (defaultPath && exists(defaultPath)) return loadKubeconfig({ path: defaultPath });
  if (Deno.env.get("KUBERNETES_SERVICE_HOST")) return inClusterKubeconfig();
  throw new Error(
    "no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster",
  );
}

/** The pod's service account as a kubeconfig (the names client-node's loadFromCluster uses). */
function inClusterKubeconfig(dir = "/var/run/secrets/kubernetes.io/serviceaccount"): Kubeconfig {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST")!, port = Deno.env.get("KUBERNETES_SERVICE_PORT");
  const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
  const kc = new Kubeconfig();
  kc.clusters = [{
    name: "inCluster",
    server: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    caFile: `${dir}/ca.crt`,
    skipTLSVerify: false,
  }];
  kc.users = [{ name: "inClusterUser", tokenFile: `${dir}/token` }];
  kc.contexts = [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser" }];
  kc.currentContext = "inClusterContext";
  return kc;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Names of the contexts to serve: explicit names, all, or the current one. */
export function selectContexts(kc: KubeConfig, names: string[], all: boolean): string[] {
  if (all) return kc.getContexts().map((c) => c.name);
  if (names.length > 0) return names;
  const current = kc.getCurrentContext();
  if (!current) {
    throw new Error("the kubeconfig has no current-context: pass --context NAME or --all-contexts");
  }
  return [current];
}

/** Decodes base64 kubeconfig data or reads a referenced file. */
function material(data: string | undefined, file: string | undefined): string | undefined {
  if (data) return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  if (file) return Deno.readTextFileSync(file);
  return undefined;
}

/**
 * Builds the connection of one context. Every failure (unknown context, missing certificate file, unsupported auth)
 * is a {@linkcode ContextError} naming the context, so other contexts can go on.
 */
export async function connectionFor(kc: KubeConfig, context: string): Promise<Connection> {
  const ctx = kc.getContextObject(context);
  if (!ctx) throw new ContextError(context, "no such context in the kubeconfig");
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw new ContextError(context, `its cluster "${ctx.cluster}" is not in the kubeconfig`);
  const user = kc.getUser(ctx.user);
  if (cluster.skipTLSVerify) {
    throw new ContextError(context, "insecure-skip-tls-verify is not supported: give the cluster's CA");
  }
  let caPem: string | undefined, certPem: string | undefined, keyPem: string | undefined;
  try {
    caPem = material(cluster.caData, cluster.caFile);
    certPem = material(user?.certData, user?.certFile);
    keyPem = material(user?.keyData, user?.keyFile);
  } catch (err) {
    throw new ContextError(context, `cannot read TLS material: ${(err as Error).message}`);
  }
  if (Boolean(certPem) !== Boolean(keyPem)) {
    throw new ContextError(context, "the user has a client certificate without a key (or a key without one)");
  }
  let authHeaders: Connection["authHeaders"];
  if (user?.authProvider || user?.exec || user?.username) {
    authHeaders = await clientNodeHeaders(context, ctx, cluster, user);
  } else if (user?.token) {
    const header = { authorization: `Bearer ${user.token}` };
    authHeaders = () => Promise.resolve(header);
  } else if (user?.tokenFile) {
    // Re-read every minute: projected service-account tokens rotate.
    const file = user.tokenFile;
    let token = "", readAt = 0;
    authHeaders = () => {
      if (Date.now() - readAt > 60_000) {
        try {
          token = Deno.readTextFileSync(file).trim();
        } catch (err) {
          return Promise.reject(
            new ContextError(context, `cannot read token file: ${(err as Error).message}`),
          );
        }
        readAt = Date.now();
      }
      return Promise.resolve({ authorization: `Bearer ${token}` });
    };
  }
  if (authHeaders) {
    await authHeaders(); // fail now, with the context's name, rather than on the first request
  }
  try {
    new URL(cluster.server);
  } catch {
    throw new ContextError(context, `invalid server URL ${JSON.stringify(cluster.server)}`);
  }
  return { server: cluster.server, caPem, certPem, keyPem, authHeaders };
}

/**
 * Exec plugins, auth providers and basic auth: client-node computes the headers per request (loaded only here). A
 * context-bound KubeConfig keeps other contexts out of it.
 */
async function clientNodeHeaders(
  context: string,
  ctx: KubeconfigContext,
  cluster: KubeconfigCluster,
  user: KubeconfigUser,
): Promise<NonNullable<Connection["authHeaders"]>> {
  await import("./quiet_node.ts"); // first: client-node's dependencies print deprecation warnings as they load
  const { KubeConfig: ClientNodeConfig } = await import("@kubernetes/client-node");
  const single = new ClientNodeConfig();
  const token = user.token ?? (user.tokenFile ? Deno.readTextFileSync(user.tokenFile).trim() : undefined);
  single.loadFromOptions({
    // deno-lint-ignore no-explicit-any
    clusters: [cluster as any],
    // deno-lint-ignore no-explicit-any
    users: [{ ...user, token } as any],
    contexts: [ctx],
    currentContext: context,
  });
  return async () => {
    const opts: { headers?: Record<string, string> } = {};
    try {
      // deno-lint-ignore no-explicit-any
      await single.applyToHTTPSOptions(opts as any);
    } catch (err) {
      throw new ContextError(context, `authentication failed: ${(err as Error).message}`);
    }
    return Object.fromEntries(
      Object.entries(opts.headers ?? {}).filter(([k]) => k.toLowerCase() === "authorization"),
    ) as Record<string, string>;
  };
}

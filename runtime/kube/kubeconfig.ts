/**
 * The kubeconfig file, parsed with `yaml` into the same shape `@kubernetes/client-node`'s KubeConfig uses
 * (caData, certFile, authProvider, ...), so the operator does not load client-node (74 MB of resident memory
 * measured) unless a user's credentials need it (exec plugins, auth providers, basic auth): see config.ts.
 * Relative file references are resolved against the kubeconfig's directory, as kubectl and client-node do.
 *
 * @module
 */
// yaml's ES module build (its `browser` files: the same code). Deno resolves `yaml` under the `node` condition
// to the CommonJS build, and loading CommonJS costs 3.6 MB of resident memory for the operator's life (README,
// "Node compatibility at start"); the package's exports name no other path, hence the import map's `yaml/esm`.
// @ts-types="yaml"
import { parse } from "yaml/esm";

/** A cluster entry. */
export interface KubeconfigCluster {
  name: string;
  /** URL without a trailing slash. */
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

/** A user entry. */
export interface KubeconfigUser {
  name: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  token?: string;
  tokenFile?: string;
  exec?: unknown;
  authProvider?: unknown;
  username?: string;
  password?: string;
  impersonateUser?: string;
}

/** A context entry. */
export interface KubeconfigContext {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
}

// deno-lint-ignore no-explicit-any
type Raw = any;

function absolute(dir: string | undefined, file: string | undefined): string | undefined {
  if (!file || !dir || file.startsWith("/")) return file;
  return `${dir.replace(/\/+$/, "")}/${file}`;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A parsed kubeconfig. */
export class Kubeconfig {
  clusters: KubeconfigCluster[] = [];
  users: KubeconfigUser[] = [];
  contexts: KubeconfigContext[] = [];
  currentContext = "";
  /** The file it was read from, if any. */
  path?: string;

  /** Parses kubeconfig text; relative file references are resolved against `dir`. Throws on malformed entries. */
  static parse(text: string, dir?: string): Kubeconfig {
    const kc = new Kubeconfig();
    const doc: Raw = parse(text) ?? {};
    if (typeof doc !== "object" || Array.isArray(doc)) throw new Error("not a kubeconfig (no mapping)");
    const list = (v: unknown): Raw[] => Array.isArray(v) ? v : [];
    kc.clusters = list(doc.clusters).map((e, i) => {
      if (!e?.name) throw new Error(`clusters[${i}].name is missing`);
      if (!e.cluster) throw new Error(`clusters[${i}].cluster is missing`);
      if (!e.cluster.server) throw new Error(`clusters[${i}].cluster.server is missing`);
      return {
        name: String(e.name),
        server: String(e.cluster.server).replace(/\/$/, ""),
        caData: str(e.cluster["certificate-authority-data"]),
        caFile: absolute(dir, str(e.cluster["certificate-authority"])),
        skipTLSVerify: e.cluster["insecure-skip-tls-verify"] === true,
        tlsServerName: str(e.cluster["tls-server-name"]),
      };
    });
    kc.users = list(doc.users).map((e, i) => {
      if (!e?.name) throw new Error(`users[${i}].name is missing`);
      const u = e.user ?? {};
      return {
        name: String(e.name),
        certData: str(u["client-certificate-data"]),
        certFile: absolute(dir, str(u["client-certificate"])),
        keyData: str(u["client-key-data"]),
        keyFile: absolute(dir, str(u["client-key"])),
        token: str(u.token),
        tokenFile: absolute(dir, str(u["token-file"])),
        exec: u.exec ?? undefined,
        authProvider: u["auth-provider"] ?? undefined,
        username: str(u.username),
        password: str(u.password),
        impersonateUser: str(u.as),
      };
    });
    kc.contexts = list(doc.contexts).map((e, i) => {
      if (!e?.name) throw new Error(`contexts[${i}].name is missing`);
      if (!e.context) throw new Error(`contexts[${i}].context is missing`);
      return {
        name: String(e.name),
        cluster: String(e.context.cluster ?? ""),
        user: String(e.context.user ?? ""),
        namespace: str(e.context.namespace),
      };
    });
    kc.currentContext = str(doc["current-context"]) ?? "";
    return kc;
  }

  /** Reads and parses a file. */
  static load(path: string): Kubeconfig {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : Deno.cwd();
    const kc = Kubeconfig.parse(Deno.readTextFileSync(path), dir);
    kc.path = path;
    return kc;
  }

  /** Every context. */
  getContexts(): KubeconfigContext[] {
    return this.contexts;
  }

  /** The current-context's name ("" when unset). */
  getCurrentContext(): string {
    return this.currentContext;
  }

  /** A context by name. */
  getContextObject(name: string): KubeconfigContext | undefined {
    return this.contexts.find((c) => c.name === name);
  }

  /** A cluster by name. */
  getCluster(name: string): KubeconfigCluster | undefined {
    return this.clusters.find((c) => c.name === name);
  }

  /** A user by name. */
  getUser(name: string): KubeconfigUser | undefined {
    return this.users.find((u) => u.name === name);
  }
}

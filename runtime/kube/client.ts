/**
 * A small Kubernetes REST client on Deno's fetch: one pooled HTTP/2 (or keep-alive HTTP/1.1) client per cluster, so
 * requests and watches share connections instead of opening a TLS connection per request.
 *
 * @module
 */
import { jsonLines } from "./json_lines.ts";
import { withoutManagedFields } from "./managed_fields.ts";

/** A JSON object as the API server returns it. */
// deno-lint-ignore no-explicit-any
export type KubeObject = Record<string, any> & {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    // deno-lint-ignore no-explicit-any
    [k: string]: any;
  };
};

/** A list response. */
export interface KubeList<T = KubeObject> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** A watch event. */
export interface WatchEvent<T = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** An error answer of the API server (or a transport failure, with status 0). */
export class ApiError extends Error {
  /** HTTP status; 0 for transport failures. */
  readonly status: number;
  /** The Status reason (`NotFound`, `Conflict`, `Forbidden`, `Expired`, ...). */
  readonly reason: string;
  /** HTTP verb and path, for messages that say what was refused. */
  readonly request: string;

  /** Builds an error from a Status body. */
  constructor(status: number, reason: string, message: string, request: string) {
    super(`${request}: ${status ? status + " " : ""}${reason}: ${message}`);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.request = request;
  }
}

/** True when the error is an API answer with the given HTTP status. */
export function isStatus(err: unknown, status: number): boolean {
  return err instanceof ApiError && err.status === status;
}

/** Observes every request (metrics). */
export type RequestObserver = (verb: string, code: number, seconds: number, path: string) => void;

/** How to reach and authenticate to one API server. */
export interface Connection {
  /** Base URL, e.g. https://127.0.0.1:32766 */
  server: string;
  /** PEM CA bundle; undefined uses the system roots. */
  caPem?: string;
  /** PEM client certificate and key. */
  certPem?: string;
  keyPem?: string;
  /** Returns headers to add (Authorization); called per request, so a rotating token is re-read. */
  authHeaders?: () => Promise<Record<string, string>>;
  /** User-Agent (default `mysql-operator`); the operator's names its identity, which audit logs then show. */
  userAgent?: string;
}

/** Request options. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header; e.g. `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` for metadata only. */
  accept?: string;
  signal?: AbortSignal;
}

/** The Accept header of an answer that carries an object's metadata alone. */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/** A client for one API server. */
export class KubeClient {
  readonly #conn: Connection;
  readonly #http: Deno.HttpClient;
  #observer: RequestObserver | undefined;

  /** Creates a client with its own connection pool. */
  constructor(conn: Connection) {
    this.#conn = conn;
    this.#http = Deno.createHttpClient({
      ...(conn.caPem ? { caCerts: [conn.caPem] } : {}),
      ...(conn.certPem && conn.keyPem ? { cert: conn.certPem, key: conn.keyPem } : {}),
      poolMaxIdlePerHost: 8,
    });
  }

  /** The API server's URL. */
  get server(): string {
    return this.#conn.server;
  }

  /** Sets the observer called after every request. */
  observe(observer: RequestObserver): void {
    this.#observer = observer;
  }

  /** Closes the connection pool. */
  close(): void {
    this.#http.close();
  }

  #url(path: string, query?: RequestOptions["query"]): string {
    const url = new URL(path, this.#conn.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** Requests other than watches give up after this long (a dead server must not hang a reconcile). */
  requestTimeoutMs = 30_000;

  /** Settles once a connection's first request got its answer: requests sent at once on a cold pool each open
   * a TLS connection (the pool learns of HTTP/2 only after a handshake), 7 at an operator's start against 1. */
  #connected: Promise<void> | undefined;

  async #fetch(method: string, path: string, opts: RequestOptions, verb: string): Promise<Response> {
    const headers: Record<string, string> = {
      accept: opts.accept ?? "application/json",
      "user-agent": this.#conn.userAgent ?? "mysql-operator",
      ...(await this.#conn.authHeaders?.()),
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["content-type"] = opts.contentType ?? "application/json";
      body = JSON.stringify(opts.body);
    }
    let first: PromiseWithResolvers<void> | undefined;
    if (this.#connected) await this.#connected;
    else if (verb !== "watch") { // a watch's answer can take a second: it never holds the others back
      first = Promise.withResolvers<void>();
      this.#connected = first.promise;
    }
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(this.#url(path, opts.query), {
        method,
        headers,
        body,
        client: this.#http,
        signal: verb === "watch" ? opts.signal : AbortSignal.any([
          AbortSignal.timeout(this.requestTimeoutMs),
          ...(opts.signal ? [opts.signal] : []),
        ]),
      });
    } catch (err) {
      // No connection (or it broke): the next request connects alone again.
      if (first || !opts.signal?.aborted) this.#connected = undefined;
      this.#observer?.(verb, 0, (performance.now() - started) / 1000, path);
      if (opts.signal?.aborted) throw err;
      throw new ApiError(0, "Unreachable", (err as Error).message, `${method} ${path}`);
    } finally {
      first?.resolve();
    }
    this.#observer?.(verb, res.status, (performance.now() - started) / 1000, path);
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      let reason = res.statusText || "Error";
      let message = text.slice(0, 500);
      try {
        const status = JSON.parse(text);
        reason = status.reason || reason;
        message = status.message || message;
      } catch { /* not a Status body */ }
      throw new ApiError(res.status, reason, message, `${method} ${path}`);
    }
    return res;
  }

  /** Sends a request and parses the JSON answer. `verb` labels metrics (get, list, create, patch, ...). */
  async request<T = KubeObject>(
    method: string,
    path: string,
    opts: RequestOptions = {},
    verb?: string,
  ): Promise<T> {
    const res = await this.#fetch(method, path, opts, verb ?? method.toLowerCase());
    const text = await res.text();
    return withoutManagedFields(text ? JSON.parse(text) : {}) as T;
  }

  /** GET an object. */
  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>("GET", path, {}, "get");
  }

  /** GET an object, or undefined when it does not exist. */
  async getOrUndefined<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** List (one page). Other representations (metadata only): `request` with `accept`. */
  list<T = KubeObject>(path: string, query: RequestOptions["query"] = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>("GET", path, { query }, "list");
  }

  /** Server-side apply with force (the operator owns the fields it sets). */
  apply<T = KubeObject>(path: string, obj: unknown, fieldManager: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: obj,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager, force: true },
    }, "apply");
  }

  /** JSON merge patch. */
  mergePatch<T = KubeObject>(path: string, patch: unknown, fieldManager: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: patch,
      contentType: "application/merge-patch+json",
      query: { fieldManager },
    }, "patch");
  }

  /** JSON patch (RFC 6902), used with `test` operations for safe list edits. */
  jsonPatch<T = KubeObject>(path: string, ops: unknown[], fieldManager: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: ops,
      contentType: "application/json-patch+json",
      query: { fieldManager },
    }, "patch");
  }

  /**
   * POST a new object. With `metadataOnly` the answer carries the new object's metadata alone (the API server's
   * `PartialObjectMetadata`): for objects whose answer nothing reads, such as a Job with its 21 KB script.
   */
  create<T = KubeObject>(
    path: string,
    obj: unknown,
    fieldManager: string,
    opts: { metadataOnly?: boolean } = {},
  ): Promise<T> {
    const accept = opts.metadataOnly ? METADATA_ONLY : undefined;
    return this.request<T>("POST", path, { body: obj, query: { fieldManager }, accept }, "create");
  }

  /** DELETE; a missing object is not an error. Background propagation unless told otherwise. */
  async delete(path: string, propagationPolicy = "Background", preconditionUid?: string): Promise<void> {
    try {
      await this.request("DELETE", path, {
        body: {
          kind: "DeleteOptions",
          apiVersion: "v1",
          propagationPolicy,
          ...(preconditionUid ? { preconditions: { uid: preconditionUid } } : {}),
        },
      }, "delete");
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  /**
   * Opens a watch and yields its events until the server ends it, the connection drops, or `signal` aborts. The
   * caller tells a normal end (the iterator returns) from a failure (it throws). `accept`: see RequestOptions.
   */
  async *watch<T = KubeObject>(
    path: string,
    query: RequestOptions["query"],
    signal: AbortSignal,
    onOpen?: () => void,
    accept?: string,
  ): AsyncGenerator<WatchEvent<T>> {
    const res = await this.#fetch("GET", path, { query: { ...query, watch: 1 }, signal, accept }, "watch");
    onOpen?.();
    yield* jsonLines<WatchEvent<T>>(res.body!, signal);
  }
}

/**
 * List+watch cache of one resource in one cluster: lists, then watches from the list's resourceVersion with
 * bookmarks; relists on 410 Gone; reconnects with backoff and jitter when the API server is unreachable; and treats
 * a watch that is silent for too long as dropped. Every change calls `onChange(obj)`. What it caches of each object
 * is a projection (runtime/projection.ts), made page by page and event by event before anything keeps the object.
 *
 * @module
 */
import { ApiError, type KubeClient, type KubeList, type KubeObject, METADATA_ONLY } from "./kube/client.ts";
import { backoffDelay, sleep } from "./backoff.ts";
import { apiVersionOf, collectionPath, keyOf, objectPath, type Resource } from "./kube/resources.ts";
import { type Projection, slim } from "./projection.ts";
import { CACHE_STRINGS } from "./intern.ts";

/** Informer settings. */
export interface InformerOptions {
  resource: Resource;
  /** Namespace to watch; undefined: all. */
  namespace?: string;
  labelSelector?: string;
  /** Server-side watch timeout (the server ends the watch; we continue from the last resourceVersion). */
  watchTimeoutSeconds?: number;
  /** A watch with no event (not even a bookmark) for this long is treated as dropped. */
  idleTimeoutMs?: number;
  /**
   * Page size of lists. A page is read whole into one string before it is parsed and projected, so this bounds the
   * memory a list takes: pages × the largest object (1.5 MB in etcd), not the whole collection.
   */
  pageSize?: number;
  /** What to cache of each object (runtime/projection.ts); default: everything but managedFields. */
  project?: Projection;
  /**
   * List and watch metadata only (PartialObjectMetadata), and read whole, one at a time, just the objects `whole`
   * accepts: other people's objects of the kind never cross the wire whole (Secrets hold up to 1 MiB each).
   */
  metadataOnly?: { whole: (obj: KubeObject) => boolean };
  /** Called for every added, changed or deleted object (deleted: the last known state). */
  onChange: (obj: KubeObject, deleted: boolean) => void;
  /** Called when the watch restarts, with the reason (metrics, logs). */
  onRestart?: (reason: "relist" | "reconnect" | "expired" | "idle", err?: unknown) => void;
  /** Called on every connection state change. */
  onState?: (state: InformerState) => void;
}

/** Health of an informer. */
export interface InformerState {
  /** The first list completed. */
  synced: boolean;
  /** The last request succeeded and a watch is open. */
  connected: boolean;
  lastError?: string;
}

/** A list+watch cache. */
export class Informer {
  readonly #client: KubeClient;
  readonly #opts:
    & Required<
      Omit<
        InformerOptions,
        "namespace" | "labelSelector" | "onRestart" | "onState" | "project" | "metadataOnly"
      >
    >
    & InformerOptions;
  readonly #cache = new Map<string, KubeObject>();
  readonly #project: Projection;
  /** The projection of an object the cache keeps, its strings shared with the other cached objects (intern.ts). */
  readonly #keep: Projection;
  #resourceVersion = "";
  #state: InformerState = { synced: false, connected: false };
  #current?: AbortController;
  #syncedWaiters: Array<() => void> = [];

  /** Creates an informer; call {@linkcode run} to start it. */
  constructor(client: KubeClient, opts: InformerOptions) {
    this.#client = client;
    this.#opts = { watchTimeoutSeconds: 300, idleTimeoutMs: 90_000, pageSize: 500, ...opts };
    const project = this.#project = opts.project ?? slim;
    this.#keep = (obj) => CACHE_STRINGS.intern(project(obj));
  }

  /** The cached object with this key (`ns/name` or `name`). */
  get(key: string): KubeObject | undefined {
    return this.#cache.get(key);
  }

  /** All cached objects. */
  list(): KubeObject[] {
    return [...this.#cache.values()];
  }

  /** Current health. */
  get state(): InformerState {
    return { ...this.#state };
  }

  /** The resource version the next watch resumes from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves once the first list completed. */
  synced(): Promise<void> {
    if (this.#state.synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  /** Aborts the open watch (tests use it to simulate a dropped connection). */
  dropWatch(): void {
    this.#current?.abort(new Error("watch dropped on request"));
  }

  #setState(patch: Partial<InformerState>): void {
    const next = { ...this.#state, ...patch };
    if (next.synced && !this.#state.synced) {
      for (const w of this.#syncedWaiters.splice(0)) w();
    }
    this.#state = next;
    this.#opts.onState?.(next);
  }

  async #list(signal: AbortSignal): Promise<void> {
    const path = collectionPath(this.#opts.resource, this.#opts.namespace);
    const fresh = new Map<string, KubeObject>();
    const wholes: KubeObject[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      if (signal.aborted) throw signal.reason;
      const page = await this.#client.request<KubeList>("GET", path, {
        query: { limit: this.#opts.pageSize, continue: cont, labelSelector: this.#opts.labelSelector },
        accept: this.#opts.metadataOnly ? METADATA_LIST : undefined,
      }, "list");
      // Projected page by page: the collection is never in memory whole, only one page of it. An empty
      // metadata-only list says `items: null`.
      for (const item of page.items ?? []) {
        const obj = this.#typed(item);
        if (this.#opts.metadataOnly?.whole(obj)) wholes.push(obj);
        else fresh.set(keyOf(obj), this.#keep(obj));
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    // Whole reads a few at a time, after the pages (a continue token expires).
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = next++; i < wholes.length; i = next++) {
        const obj = await this.#complete(wholes[i]);
        if (obj) fresh.set(keyOf(obj), obj); // else gone meanwhile: the watch reports the deletion
      }
    }));
    // Replace the cache and tell about every difference, deletions included (nothing missed during a gap).
    const old = new Map(this.#cache);
    this.#cache.clear();
    for (const [k, v] of fresh) this.#cache.set(k, v);
    this.#resourceVersion = rv;
    for (const [k, v] of fresh) {
      if (old.get(k)?.metadata?.resourceVersion !== v.metadata?.resourceVersion) {
        this.#opts.onChange(v, false);
      }
      old.delete(k);
    }
    for (const v of old.values()) this.#opts.onChange(v, true);
    this.#setState({ synced: true, connected: true, lastError: undefined });
  }

  /** Watches until the server ends the watch (returns) or something fails (throws). */
  async #watch(signal: AbortSignal): Promise<void> {
    const path = collectionPath(this.#opts.resource, this.#opts.namespace);
    const ctl = new AbortController();
    this.#current = ctl;
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort(); // stopped between the list and now: the listener will never fire
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(new IdleWatch()), this.#opts.idleTimeoutMs);
    };
    try {
      arm();
      const events = this.#client.watch(
        path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.#opts.watchTimeoutSeconds,
          labelSelector: this.#opts.labelSelector,
        },
        ctl.signal,
        () => this.#setState({ connected: true, lastError: undefined }),
        this.#opts.metadataOnly ? METADATA_ONLY : undefined,
      );
      for await (const ev of events) {
        arm();
        if (ev.type === "ERROR") {
          const status = ev.object as { code?: number; reason?: string; message?: string };
          throw new ApiError(
            status.code ?? 500,
            status.reason ?? "Error",
            status.message ?? "watch error",
            path,
          );
        }
        const rv = ev.object?.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        if (ev.type === "BOOKMARK") continue;
        // Projected before anything keeps it: onChange sees what the cache holds, never the whole object.
        const deleted = ev.type === "DELETED";
        const obj = deleted
          ? this.#project(this.#typed(ev.object))
          : await this.#complete(this.#typed(ev.object));
        if (!obj) continue; // gone before it was read whole: its DELETED event follows
        const key = keyOf(obj);
        if (deleted) this.#cache.delete(key);
        else this.#cache.set(key, obj);
        this.#opts.onChange(obj, deleted);
      }
      if (ctl.signal.aborted) throw ctl.signal.reason;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener("abort", onAbort);
      this.#current = undefined;
    }
  }

  /**
   * Sets apiVersion and kind: list items come without them and metadata-only ones as PartialObjectMetadata, and
   * every cached object would otherwise differ from its desired state in those two fields (re-applied every pass).
   */
  #typed(item: KubeObject): KubeObject {
    const meta = this.#opts.metadataOnly !== undefined;
    if (meta || !item.apiVersion) item.apiVersion = apiVersionOf(this.#opts.resource);
    if (meta || !item.kind) item.kind = this.#opts.resource.kind;
    return item;
  }

  /** The projection of an object, read whole first when metadata-only and `whole` accepts it; undefined: gone. */
  async #complete(item: KubeObject): Promise<KubeObject | undefined> {
    if (!this.#opts.metadataOnly?.whole(item)) return this.#keep(item);
    const cached = this.#cache.get(keyOf(item));
    if (cached && cached.metadata?.resourceVersion === item.metadata?.resourceVersion) return cached;
    const path = objectPath(this.#opts.resource, item.metadata?.namespace, item.metadata!.name!);
    const whole = await this.#client.getOrUndefined(path);
    return whole && this.#keep(whole);
  }

  /** Runs until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        await this.#watch(signal);
        failures = 0; // the server closed the watch normally: resume from the last resourceVersion
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ApiError && err.status === 410) {
          needList = true;
          this.#opts.onRestart?.("expired", err);
          continue; // relist at once: the resourceVersion is too old, nothing to wait for
        }
        failures++;
        const idle = err instanceof IdleWatch;
        this.#opts.onRestart?.(idle ? "idle" : "reconnect", err);
        this.#setState({ connected: false, lastError: (err as Error)?.message ?? String(err) });
        if (!this.#resourceVersion) needList = true;
        // Capped at 5 s: a cluster that comes back is caught up within seconds (a few requests a second per dead
        // cluster is a small price).
        if (!idle) await sleep(backoffDelay(failures, { baseMs: 250, maxMs: 5_000 }), signal);
      }
    }
  }
}

/** Accept headers of metadata-only lists and watches (what client-go's metadata informers ask for). */
const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/** The watch was silent for longer than the idle timeout. */
class IdleWatch extends Error {
  constructor() {
    super("watch idle for too long; reconnecting");
  }
}

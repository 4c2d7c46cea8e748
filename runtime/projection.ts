/**
 * What the child caches keep of an object: only the fields the operator reads, applied before anything is cached
 * (controller-runtime's cache "transform"). Child informers select by a label anyone can set, so the caches would
 * otherwise grow with the size of other people's objects: 600 foreign Secrets of 900 KiB took the process above its
 * 512Mi limit. Which label and annotation domains are the controller's own, and which Secrets it reads whole, is the
 * controller's {@linkcode CachePolicy}; this module knows no particular controller.
 *
 * Per kind, what is kept:
 * - metadata: identity (name, namespace, uid, resourceVersion, generation, timestamps), ownerReferences,
 *   finalizers, labels and annotations of the controller's own domains ({@linkcode Domains}); never managedFields
 *   or anyone else's annotations (`kubectl.kubernetes.io/last-applied-configuration` alone can be 256 KiB).
 * - spec: whole, for every kind but Secret and Job: drift detection compares every field the renderers set
 *   (reconcilers/drift.ts), and a field missing from the cache would read as drift on every pass. A Job's pod
 *   template is dropped: Jobs are never updated, so nothing compares it.
 * - status: the fields read for availability (Deployment), completion (Job), binding (PVC, PV); none of Service.
 * - Secret: `type`, `immutable`, and `data` with each value replaced by its digest ({@linkcode digestBase64}); drift
 *   detection compares digests (reconcilers/drift.ts). The password itself is never needed from the cache: pods
 *   read it through `secretKeyRef`, and a referenced Secret is read live. Only the operator's own Secrets are read
 *   whole at all ({@linkcode childCacheOptions}): the others are listed and watched as metadata.
 *
 * @module
 */
// SHA-256 from @noble/hashes, not node:crypto: node:crypto loads Deno's Node compatibility layer, 2.1 MB of
// resident memory for the life of the operator process (README, "Node compatibility at start").
import { sha256 } from "@noble/hashes/sha2.js";
import type { KubeObject } from "./kube/client.ts";

/** A projection: returns what to cache of an object (the child kinds build a new object and leave the input alone). */
export type Projection = (obj: KubeObject) => KubeObject;

/** Label and annotation domains a controller reads (and subdomains of them), e.g. its API group. */
export interface Domains {
  labels: readonly string[];
  annotations: readonly string[];
}

/** What a controller's child caches keep: its domains, and which Secrets it reads whole (the rest: metadata). */
export interface CachePolicy {
  domains: Domains;
  wholeSecret: (obj: KubeObject) => boolean;
}

const UTF8 = new TextEncoder();

/** Prefix of a digest that stands for a Secret value in the cache. */
export const DIGEST_PREFIX = "sha256:";

/** Digest of a Secret `data` value (base64): of the decoded bytes, so it matches {@linkcode digestText} of the text. */
export function digestBase64(value: string): string {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(value);
  } catch {
    // Not base64 (the API server never stores such a value): digested as text, so it still compares as itself.
    bytes = UTF8.encode(value);
  }
  return DIGEST_PREFIX + sha256(bytes).toHex();
}

/** Digest of a `stringData` value: of its UTF-8 bytes, as the API server stores it in `data`. */
export function digestText(value: string): string {
  return DIGEST_PREFIX + sha256(UTF8.encode(value)).toHex();
}

/** True when a `data` value is already a digest (a digest has a `:`, which base64 never has). */
export function isDigest(value: unknown): boolean {
  return typeof value === "string" && value.startsWith(DIGEST_PREFIX);
}

/**
 * The data of a Secret as digests: `data` values digested (already digested ones kept), `stringData` merged over
 * them the way the API server does. Undefined when the Secret has neither.
 */
export function secretDigests(secret: KubeObject): Record<string, string> | undefined {
  const data: Record<string, string> | undefined = secret.data,
    text: Record<string, string> | undefined = secret.stringData;
  if (!data && !text) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = isDigest(v) ? v : digestBase64(String(v));
  for (const [k, v] of Object.entries(text ?? {})) out[k] = digestText(String(v));
  return out;
}

function inDomain(key: string, domains: readonly string[]): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false; // an unprefixed key is a user's own
  const prefix = key.slice(0, slash);
  return domains.some((d) => prefix === d || prefix.endsWith(`.${d}`));
}

function pickKeys(map: Record<string, string> | undefined, domains: readonly string[]) {
  if (!map) return undefined;
  let out: Record<string, string> | undefined;
  const keys = Object.keys(map);
  for (let i = 0; i < keys.length; i++) if (inDomain(keys[i], domains)) (out ??= {})[keys[i]] = map[keys[i]];
  return out;
}

/** Copies the listed fields of `from` that are set (undefined when none is). */
function pick(from: Record<string, unknown> | undefined, fields: readonly string[]) {
  if (!from) return undefined;
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < fields.length; i++) {
    if (from[fields[i]] !== undefined) (out ??= {})[fields[i]] = from[fields[i]];
  }
  return out;
}

const METADATA = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "ownerReferences",
  "finalizers",
] as const;

/** Metadata a controller reads: identity, owners, finalizers, the labels and annotations of its `domains`. */
export function projectMetadata(meta: KubeObject["metadata"], domains: Domains): KubeObject["metadata"] {
  return {
    ...pick(meta, METADATA),
    ...defined("labels", pickKeys(meta?.labels, domains.labels)),
    ...defined("annotations", pickKeys(meta?.annotations, domains.annotations)),
  };
}

function defined<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

/** A projection that keeps metadata, the spec (whole, or as `spec` makes it) and the listed status fields. */
function withStatus(
  domains: Domains,
  fields: readonly string[],
  spec: (s: Record<string, unknown>) => Record<string, unknown> = (s) => s,
): Projection {
  return (obj) => ({
    ...defined("apiVersion", obj.apiVersion),
    ...defined("kind", obj.kind),
    metadata: projectMetadata(obj.metadata, domains),
    ...defined("spec", obj.spec && spec(obj.spec)),
    ...defined("status", pick(obj.status, fields)),
  });
}

/** A spec without its pod template. */
function withoutTemplate({ template: _, ...rest }: Record<string, unknown>): Record<string, unknown> {
  return rest;
}

/** Projections of the child kinds, by kind, for a controller whose own domains are `domains`. */
export function projections(domains: Domains): Readonly<Record<string, Projection>> {
  return {
    // Availability: observedGeneration against generation, updated and available replicas.
    Deployment: withStatus(domains, [
      "observedGeneration",
      "replicas",
      "updatedReplicas",
      "readyReplicas",
      "availableReplicas",
      "unavailableReplicas",
      "conditions",
    ]),
    // Only spec.clusterIP is read; status holds nothing the operator uses.
    Service: withStatus(domains, []),
    // Bound or not, and to what capacity (the claim's spec.volumeName names the volume).
    PersistentVolumeClaim: withStatus(domains, ["phase", "capacity", "conditions"]),
    // Released volumes are re-bound; Bound ones are in use.
    PersistentVolume: withStatus(domains, ["phase", "reason", "message"]),
    // Only whether it is being deleted (deletionTimestamp, phase Terminating): no Job can start there then.
    Namespace: withStatus(domains, ["phase"]),
    // Complete/Failed conditions decide a backup or restore; completionTime dates a backup. The pod template is
    // never read back (Jobs are created once and never updated), and it carries the Job's script: 16 KB per Job,
    // 10 of 49 MB of heap while 900 final backups ran at 3 x 300.
    Job: withStatus(domains, [
      "conditions",
      "active",
      "ready",
      "succeeded",
      "failed",
      "startTime",
      "completionTime",
    ], withoutTemplate),
    Secret: (obj) => ({
      ...defined("apiVersion", obj.apiVersion),
      ...defined("kind", obj.kind),
      metadata: projectMetadata(obj.metadata, domains),
      ...defined("type", obj.type),
      ...defined("immutable", obj.immutable),
      ...defined("data", secretDigests(obj)),
    }),
  };
}

/**
 * List page sizes of the child informers. A page is one string before it is parsed and projected, so its size is
 * what a list costs in memory (the default of 500 made a page of foreign 900 KiB Secrets longer than the longest
 * JS string): 50 objects of the usual few KiB, and at most 50 x 1.5 MB (etcd's object limit).
 */
export const CHILD_PAGE_SIZE = 50;

/**
 * Informer settings of a child kind under a controller's `policy`: its projection, page size, and for Secrets
 * metadata-only lists and watches (other people's Secrets, up to 1 MiB each, never cross the wire) with the
 * controller's own read whole.
 */
export function childCacheOptions(kind: string, policy: CachePolicy): {
  project: Projection;
  pageSize: number;
  metadataOnly?: { whole: (obj: KubeObject) => boolean };
} {
  return {
    project: projectionFor(kind, policy.domains),
    pageSize: CHILD_PAGE_SIZE,
    ...(kind === "Secret" ? { metadataOnly: { whole: policy.wholeSecret } } : {}),
  };
}

/** The projection of a kind; any other kind keeps everything but managedFields. */
export function projectionFor(kind: string, domains: Domains): Projection {
  return projections(domains)[kind] ?? slim;
}

/**
 * Drops `metadata.managedFields` (nothing reads it; server-side apply keeps it on the server): often the largest
 * part of an object. What the primary informers keep: a controller reads all of its own objects.
 */
export function slim(obj: KubeObject): KubeObject {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

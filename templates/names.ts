/**
 * Deterministic names of every child of a MySQL object (their labels: templates/labels.ts).
 *
 * Namespaced children differ from each other by a fixed suffix per kind, so two objects in one namespace (say `x`
 * and `x-backup`) never claim the same child. Cluster-scoped PersistentVolumes carry a hash of namespace and name,
 * so equal names in different namespaces never collide either.
 *
 * @module
 */

/** The identity parts of a MySQL object that names derive from. */
export interface ObjectRef {
  namespace: string;
  name: string;
  uid?: string;
}

/**
 * FNV-1a 64-bit, as 16 hex digits: small, synchronous and stable across runtimes (names only, not security).
 * runtime/fnv.ts has the same function (templates import no runtime code); names_test.ts holds both to the
 * definition.
 */
export function fnv1a64(text: string): string {
  // 64-bit arithmetic on four 16-bit limbs, lowest first. BigInt allocated several objects per byte, the most of
  // anything a pass allocated (childNames runs on every pass); so do numbers beyond 2^30 in V8's interpreter, which
  // the operator runs in (--lite-mode). Every value here stays below 2^26. The prime is 2^40 + 0x1b3: a product is
  // each limb times 0x1b3, plus the value shifted left by 40 bits (2.5 limbs), with the carries passed up.
  const bytes = encode(text);
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i];
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);
}

function hex4(limb: number): string {
  return limb.toString(16).padStart(4, "0");
}

const encoder = new TextEncoder();
let buffer = new Uint8Array(256);

/** The UTF-8 bytes of `text`, in a buffer reused by every call (valid until the next one). */
function encode(text: string): Uint8Array {
  if (text.length * 3 > buffer.length) buffer = new Uint8Array(text.length * 3);
  return buffer.subarray(0, encoder.encodeInto(text, buffer).written);
}

/** A short, stable hash of the given parts (10 hex digits). */
export function shortHash(...parts: string[]): string {
  return fnv1a64(parts.join("\u0000")).slice(0, 10);
}

/** Stable identity of an instance's backups: survives delete + re-create of the object with the same name. */
export function instanceId(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Names of all children of one MySQL object. */
export interface ChildNames {
  /** Deployment and Service (the Service name is what clients in the namespace use). */
  deployment: string;
  service: string;
  /** Owned Secret holding the password copied from `spec.password`. */
  secret: string;
  /** Data PVC (namespaced) and PV (cluster-scoped, per incarnation: a re-created object starts empty). */
  dataPVC: string;
  dataPV: string;
  /** Backup PVC and PV: created once per namespace/name, reused by every incarnation, never deleted. */
  backupPVC: string;
  backupPV: string;
  /** Restore Job (one per incarnation). */
  restoreJob: string;
  /** Backup Jobs get a suffix per request: see {@linkcode backupJobName}. */
  backupJobPrefix: string;
}

/** Computes every child name of a MySQL object. */
export function childNames(ref: ObjectRef): ChildNames {
  const nsHash = shortHash(ref.namespace, ref.name);
  const incarnation = shortHash(ref.namespace, ref.name, ref.uid ?? "");
  return {
    deployment: ref.name,
    service: ref.name,
    secret: `${ref.name}-credentials`,
    dataPVC: `${ref.name}-data`,
    dataPV: `mysql-${ref.name}-data-${incarnation}`,
    backupPVC: `${ref.name}-backup`,
    backupPV: `mysql-${ref.name}-backup-${nsHash}`,
    restoreJob: `${ref.name}-restore`,
    backupJobPrefix: `${ref.name}-backup-`,
  };
}

/**
 * Name of a backup Job. `reason` is `final`, `scheduled` or `manual`; `token` distinguishes requests (a schedule
 * slot, an annotation value) so a leftover Job of an earlier request never blocks a new one.
 */
export function backupJobName(
  ref: ObjectRef,
  reason: "final" | "scheduled" | "manual" | "migrate",
  token: string,
): string {
  const short = { final: "f", scheduled: "s", manual: "m", migrate: "x" }[reason];
  return `${ref.name}-backup-${short}${shortHash(ref.uid ?? "", reason, token).slice(0, 8)}`;
}

/**
 * The cluster's name as a key segment of an object store: the context name with every character the Jobs' scripts
 * refuse (anything but letters, digits, `.`, `_`, `@`, `:` and `-`; an EKS ARN's `/` say) replaced by `_`. Two
 * contexts that differ only there share a folder: name contexts apart when that matters.
 */
export function storeClusterName(cluster: string): string {
  const name = cluster.replace(/[^A-Za-z0-9._@:-]/g, "_");
  return name === "" || name === "." || name === ".." ? `_${name}` : name;
}

/**
 * Key prefix of one instance's backups in an object store, `<prefix>/<cluster>/<namespace>/<name>` (no leading or
 * trailing `/`; an empty prefix leaves its part out): every incarnation of the instance in that cluster uses it.
 */
export function storeInstancePath(prefix: string, cluster: string, ref: ObjectRef): string {
  return [prefix.replace(/^\/+|\/+$/g, ""), storeClusterName(cluster), ref.namespace, ref.name]
    .filter((p) => p !== "").join("/");
}

/**
 * Command-line flags shared by the subcommands, parsed with node:util's parseArgs (JSR's @std/cli cannot be
 * reached here). Unknown flags are errors that name the flag.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Flags that select clusters and namespaces (run and status). */
export const SELECTION_FLAGS = {
  kubeconfig: { type: "string" },
  context: { type: "string", multiple: true },
  "all-contexts": { type: "boolean" },
  namespace: { type: "string", multiple: true },
  "in-cluster": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Flags of `run`. */
export const RUN_FLAGS = {
  ...SELECTION_FLAGS,
  "log-format": { type: "string" },
  "log-level": { type: "string" },
  "http-addr": { type: "string" },
  "leader-elect": { type: "boolean" },
  "no-leader-elect": { type: "boolean" },
  "no-shard": { type: "boolean" },
  "lease-namespace": { type: "string" },
  "lease-name": { type: "string" },
  "lease-duration-seconds": { type: "string" },
  identity: { type: "string" },
  concurrency: { type: "string" },
  "total-concurrency": { type: "string" },
  "hostpath-root": { type: "string" },
  "image-pull-policy": { type: "string" },
  "resync-seconds": { type: "string" },
  "kubeconfig-dir": { type: "string" },
  "cluster-secrets-selector": { type: "string" },
  "cluster-secrets-namespace": { type: "string" },
  "paused-context": { type: "string", multiple: true },
} as const;

/** Flags of `diff`. */
export const DIFF_FLAGS = {
  ...SELECTION_FLAGS,
  filename: { type: "string", short: "f", multiple: true },
  prune: { type: "boolean" },
  "hostpath-root": { type: "string" },
  "image-pull-policy": { type: "string" },
} as const;

/** Flags of `status`. */
export const STATUS_FLAGS = { ...SELECTION_FLAGS, output: { type: "string", short: "o" } } as const;

/** Flags of `migrate`. */
export const MIGRATE_FLAGS = {
  from: { type: "string" },
  to: { type: "string" },
  "delete-source": { type: "boolean" },
  kubeconfig: { type: "string" },
  "timeout-seconds": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Flags of `crd`. */
export const CRD_FLAGS = {
  install: { type: "boolean" },
  kubeconfig: { type: "string" },
  context: { type: "string", multiple: true },
  "all-contexts": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** A usage error: printed with the subcommand's help hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Spec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

/** Parses `args` against `spec`; no positionals allowed. */
export function parse<S extends Spec>(args: string[], spec: S) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A positive integer flag. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${value}`);
  }
  return n;
}

/** One of the allowed values. */
export function oneOf<T extends string>(
  value: string | undefined,
  name: string,
  allowed: T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got ${value}`);
  }
  return value as T;
}

/**
 * The Deno permissions (and V8 flags) the operator runs with, everywhere: `deno task start`, the compiled binary, the container
 * image and the tests that run "the binary". Network, environment, reading the kubeconfig and service-account
 * files, and the uid/hostname (client-node reads the uid to find ~/.kube/config; the hostname names the lease
 * holder). No write, no subprocess, no FFI.
 *
 * @module
 */

/** Permission flags of the operator process. */
export const OPERATOR_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys=uid,hostname",
]);

/**
 * V8 flags of the operator process: a 2 MB young-generation semi-space. V8 grows it to 16 MB and more under a burst
 * of watch events and keeps the pages; `deno task bench` (3 clusters x 100 objects) measured peak RSS 208 MB
 * without the flag and 144 MB with it, at the same CPU time and convergence time.
 */
export const OPERATOR_V8_FLAGS: readonly string[] = Object.freeze(["--v8-flags=--max-semi-space-size=2"]);

/** What `deno run` and `deno compile` get before the entry point, everywhere: permissions, then V8 flags. */
export const OPERATOR_FLAGS: readonly string[] = Object.freeze([
  ...OPERATOR_PERMISSIONS,
  ...OPERATOR_V8_FLAGS,
]);

/**
 * The Deno permissions the operator runs with, everywhere: `deno task start`, the compiled binary, the container
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

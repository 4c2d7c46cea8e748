/**
 * Pod settings shared by the mysqld Deployment and the Jobs.
 *
 * @module
 */
import type { RenderOptions } from "./options.ts";
import type { PodSpec } from "./k8s_types.ts";

/**
 * No Service environment variables (a Service named `mysql` would otherwise inject `MYSQL_PORT=tcp://...` into
 * every pod of the namespace), no API token (nothing here talks to the API server), and the node selector of the
 * options when set.
 */
export function podSpecDefaults(
  opts: RenderOptions,
): Pick<PodSpec, "enableServiceLinks" | "automountServiceAccountToken" | "nodeSelector"> {
  const spec: Pick<PodSpec, "enableServiceLinks" | "automountServiceAccountToken" | "nodeSelector"> = {
    enableServiceLinks: false,
    automountServiceAccountToken: false,
  };
  if (opts.nodeSelector !== undefined) spec.nodeSelector = { ...opts.nodeSelector };
  return spec;
}

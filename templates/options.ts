/**
 * Settings of the renderers that come from the operator's configuration, not from the MySQL object.
 *
 * @module
 */

/** Operator-wide settings the renderers need. */
export interface RenderOptions {
  /** Node directory under which operator-made hostPath PVs live (one sub-directory per PV). */
  hostPathRoot: string;
  /** Pull policy of every container; unset leaves the cluster default (`IfNotPresent` unless the tag is latest). */
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /**
   * Node selector of every pod (mysqld and Jobs). Unset means any node; set it to pin pods to a real node when a
   * cluster mixes real and simulated nodes.
   */
  nodeSelector?: Record<string, string>;
}

/** Defaults: hostPath PVs under `/tmp/hostpath_pv` (a directory minikube persists across restarts). */
export const DEFAULT_RENDER_OPTIONS: Readonly<RenderOptions> = Object.freeze({
  hostPathRoot: "/tmp/hostpath_pv",
});

/**
 * Makes sure the pinned binaries are in the cache (building them with build.sh when they are not).
 *
 * @module
 */
import { BUILD_SCRIPT, type ClusterPaths, clusterPaths } from "./paths.ts";
import { CommandError, run } from "./run.ts";

/**
 * Ensures every binary is cached and linked into the project bin dir; builds what is missing (minutes when
 * cold). build.sh serialises concurrent builds with a lock and prints progress and clear errors (no Go
 * toolchain, module proxy failure, half-built cache) on stderr.
 */
export async function ensureBinaries(): Promise<ClusterPaths> {
  const paths = await clusterPaths();
  try {
    await run("bash", [BUILD_SCRIPT], { inheritStderr: true });
  } catch (e) {
    if (e instanceof CommandError) {
      throw new Error(
        `building the local Kubernetes binaries failed (the reason is printed above); run ` +
          `\`bash ${BUILD_SCRIPT}\` to retry`,
      );
    }
    throw e;
  }
  return paths;
}

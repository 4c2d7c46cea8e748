/**
 * The settings record beside each cluster: a fingerprint of the kwok configuration (without ports) it was created
 * with, so a cluster made by an older version of the tool (other flags, other kwok stages) can be told apart.
 *
 * @module
 */
import { renderKwokConfig, settingsFingerprint } from "./kwok_config.ts";
import { clusterDir, type ClusterPaths } from "./paths.ts";

/** File beside a cluster recording the fingerprint of the settings it was created with. */
export const SETTINGS_FILE = "mysql-operator-settings";

/** The recorded fingerprint of a cluster, if any. */
export async function readSettings(paths: ClusterPaths, name: string): Promise<string | undefined> {
  return await Deno.readTextFile(`${clusterDir(paths, name)}/${SETTINGS_FILE}`).then((s) => s.trim()).catch(
    () => undefined,
  );
}

/**
 * Of `names`, the clusters created with other settings than this version of the tool would use (new kwok stages,
 * flags): reusing one would test against stale behaviour. A cluster without a record is not judged.
 */
export async function staleClusters(paths: ClusterPaths, names: string[]): Promise<string[]> {
  const stale: string[] = [];
  for (const name of names) {
    const recorded = await readSettings(paths, name);
    if (recorded === undefined) continue;
    const config = await renderKwokConfig(paths, { clusterDir: clusterDir(paths, name) });
    if (recorded !== await settingsFingerprint(config)) stale.push(name);
  }
  return stale;
}

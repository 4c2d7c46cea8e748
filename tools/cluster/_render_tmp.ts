import { clusterPaths, clusterDir } from "./paths.ts";
import { renderKwokConfig } from "./kwok_config.ts";
const p = await clusterPaths();
console.log(await renderKwokConfig(p, { clusterDir: clusterDir(p, "x"), kcmQps: 50 }));

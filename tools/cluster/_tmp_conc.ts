import { ensureNamedClusters } from "../../tests/_clusters.ts";
const t0 = Date.now();
const r = await ensureNamedClusters(Deno.args.slice(1));
console.log(Deno.args[0], "done", Date.now() - t0, "ms", r.contexts.join(","));

/**
 * The lower bound: a plain parallel client that writes, for each of N objects per cluster, the MySQL object and
 * then every child the operator would write (the same renderers: Secret, data PV and PVC, backup PV and PVC,
 * Service, Deployment) straight away, with no operator and no waiting. Run as its own process (so its memory, CPU
 * and connections are measured like the operator's) by bench/main.ts; prints one JSON line with the time each
 * object's first request was sent.
 *
 * Usage: deno run -A bench/direct_writer.ts --kubeconfig K --context C [--context C2 ...] --namespace NS
 *        --objects N [--parallel P]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { FIELD_MANAGER, type MySQL } from "../api/mysql.ts";
import { connectionFor, loadKubeconfig } from "../runtime/kube/config.ts";
import { KubeClient, type KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, type Resource, RESOURCES } from "../runtime/kube/resources.ts";
import {
  DEFAULT_RENDER_OPTIONS,
  renderBackupPV,
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
  renderDeployment,
  renderSecret,
  renderService,
} from "../templates/mod.ts";
import { mysqlObject, objectNames, pool } from "./workload.ts";

/** What the writer reports. */
export interface DirectResult {
  /** context -> object name -> epoch ms of its first request. */
  started: Record<string, Record<string, number>>;
  /** context -> epoch ms when its last write returned. */
  finished: Record<string, number>;
  /** Requests sent. */
  requests: number;
  errors: string[];
}

const byKind: Record<string, Resource> = Object.fromEntries(
  [...Object.values(RESOURCES), MYSQL_RESOURCE].map((r) => [r.kind, r]),
);

async function writeCluster(
  client: KubeClient,
  namespace: string,
  names: string[],
  parallel: number,
  result: DirectResult,
  ctx: string,
): Promise<void> {
  const started: Record<string, number> = {};
  result.started[ctx] = started;
  const create = async (obj: KubeObject) => {
    const r = byKind[obj.kind!];
    result.requests++;
    return await client.create(collectionPath(r, obj.metadata?.namespace), obj, FIELD_MANAGER);
  };
  await pool(names, parallel, async (name) => {
    started[name] = Date.now();
    try {
      const obj = await create(mysqlObject(namespace, name)) as MySQL;
      const o = DEFAULT_RENDER_OPTIONS;
      const children = [
        renderSecret(obj),
        renderDataPV(obj, o),
        renderDataPVC(obj, o),
        renderBackupPV(obj, o),
        renderBackupPVC(obj, o),
        renderService(obj),
        renderDeployment(obj, o),
      ].filter((c): c is NonNullable<typeof c> => c !== undefined) as KubeObject[];
      await Promise.all(children.map(create));
    } catch (err) {
      result.errors.push(`${ctx} ${name}: ${(err as Error).message}`);
    }
  });
  result.finished[ctx] = Date.now();
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      kubeconfig: { type: "string" },
      context: { type: "string", multiple: true },
      namespace: { type: "string" },
      objects: { type: "string" },
      parallel: { type: "string", default: "32" },
    },
  });
  const kc = loadKubeconfig({ path: values.kubeconfig });
  const names = objectNames(Number(values.objects));
  const result: DirectResult = { started: {}, finished: {}, requests: 0, errors: [] };
  const clients = await Promise.all(
    (values.context ?? []).map(async (ctx) => ({
      ctx,
      client: new KubeClient(await connectionFor(kc, ctx)),
    })),
  );
  // Wait for a go on stdin, so the parent can start sampling this process first.
  await Deno.stdin.read(new Uint8Array(1));
  await Promise.all(
    clients.map(({ ctx, client }) =>
      writeCluster(client, values.namespace!, names, Number(values.parallel), result, ctx)
    ),
  );
  for (const { client } of clients) client.close();
  console.log(JSON.stringify(result));
}

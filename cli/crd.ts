/**
 * `crd`: print the CRD as YAML, or install it (server-side apply) into the selected contexts.
 *
 * @module
 */
import { stringify } from "yaml";
import { mysqlCRD } from "../api/crd.ts";
import { connectionFor } from "../runtime/kube/config.ts";
import { KubeClient } from "../runtime/kube/client.ts";
import { FIELD_MANAGER } from "../api/mysql.ts";
import { CRD_FLAGS, parse } from "./args.ts";
import { resolveSelection } from "./select.ts";
import { HELP } from "./help.ts";

/** Path of the CRD object. */
export const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mysqls.otus.homework";

/** Installs the CRD into one cluster and waits until it is Established. */
export async function installCRD(client: KubeClient, timeoutMs = 30_000): Promise<void> {
  await client.apply(CRD_PATH, mysqlCRD(), FIELD_MANAGER);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const crd = await client.get(CRD_PATH);
    const established = (crd.status?.conditions ?? []).some((c: { type: string; status: string }) =>
      c.type === "Established" && c.status === "True"
    );
    if (established) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the CRD was applied but did not become Established in time");
}

/** Runs `crd`. */
export async function crdCommand(args: string[]): Promise<number> {
  const f = parse(args, CRD_FLAGS);
  if (f.help) {
    console.log(HELP.crd);
    return 0;
  }
  if (!f.install) {
    console.log(stringify(mysqlCRD(), { lineWidth: 0 }).trimEnd());
    return 0;
  }
  const sel = resolveSelection(f);
  let failed = 0;
  for (const name of sel.contexts) {
    let client: KubeClient | undefined;
    try {
      client = new KubeClient(await connectionFor(sel.kubeconfig!, name));
      await installCRD(client);
      console.log(`context ${name}: customresourcedefinition mysqls.otus.homework installed`);
    } catch (err) {
      failed++;
      console.error(`context ${name}: ${(err as Error).message}`);
    } finally {
      client?.close();
    }
  }
  return failed ? 1 : 0;
}

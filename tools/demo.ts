/**
 * `deno task demo`: two local clusters (the cluster tool), the CRD in each, the operator over both contexts, the
 * course's example object in each plus one that keeps its password in a Secret, and the `status` table until every
 * object is Ready. Then it says how to look around and how to stop. `--exit` ends after Ready (CI, tests);
 * otherwise the operator keeps running until Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { stderrLogger, upClusters } from "./cluster/clusters.ts";
import { clusterPaths, contextName } from "./cluster/paths.ts";
import { defaultNames } from "./cluster/main.ts";
import { run } from "./cluster/run.ts";
import { OPERATOR_ENV, OPERATOR_FLAGS } from "../cli/permissions.ts";
import { ensureJemalloc } from "./allocator.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const say = (m: string) => console.log(`\x1b[1mdemo:\x1b[0m ${m}`);

const { values } = parseArgs({
  args: Deno.args,
  options: {
    exit: { type: "boolean" },
    timeout: { type: "string" },
    clusters: { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log(`deno task demo [--exit] [--timeout SECONDS] [--clusters A,B]
  Starts two local clusters, installs the CRD, runs the operator over both and applies example MySQL objects.
  --exit      stop the operator and exit once every object is Ready (default: keep running until Ctrl-C)
  --timeout   give up after this many seconds waiting for Ready (default 300)
  --clusters  the two clusters to use (default mo-1,mo-2; the tests use their own)`);
  Deno.exit(0);
}
const timeoutMs = Number(values.timeout ?? 300) * 1000;

const names = values.clusters?.split(",").map((n) => n.trim()).filter(Boolean) ?? defaultNames(2);
if (names.length !== 2) {
  throw new Error(`--clusters needs two cluster names, got ${JSON.stringify(values.clusters)}`);
}
say(
  `starting clusters ${names.join(", ")} (the first run builds Kubernetes from the Go module proxy: minutes)`,
);
const up = await upClusters({ names, log: stderrLogger });
const paths = await clusterPaths();
const kubeconfig = up.kubeconfig;
const contexts = names.map(contextName);
const kubectl = (ctx: string, args: string[], stdin?: string) =>
  run(`${paths.k8s}/kubectl`, ["--kubeconfig", kubeconfig, "--context", ctx, ...args], {
    stdin,
    timeoutMs: 60_000,
  });
const main = (args: string[], opts: Deno.CommandOptions = {}) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", ...OPERATOR_FLAGS, `${ROOT}main.ts`, ...args],
    ...opts,
  });

say("installing the CRD (mysql-operator crd --install)");
const crd = await main([
  "crd",
  "--install",
  "--kubeconfig",
  kubeconfig,
  ...contexts.flatMap((c) => ["--context", c]),
])
  .output();
if (!crd.success) throw new Error(new TextDecoder().decode(crd.stderr));

const logFile = `${ROOT}.cache/demo-operator.log`;
await Deno.mkdir(`${ROOT}.cache`, { recursive: true });
const log = await Deno.open(logFile, { create: true, write: true, truncate: true });
say(`starting the operator over ${contexts.join(" and ")} (log: ${logFile})`);
await ensureJemalloc(); // the allocator OPERATOR_ENV preloads, as in the image
const operator = main([
  "run",
  "--kubeconfig",
  kubeconfig,
  ...contexts.flatMap((c) => ["--context", c]),
  "--log-format",
  "pretty",
  "--http-addr",
  "127.0.0.1:0",
], { stdout: "piped", stderr: "piped", env: { ...OPERATOR_ENV } }).spawn();
Promise.all([operator.stdout, operator.stderr].map(async (s) => {
  for await (const chunk of s) await log.write(chunk);
})).catch(() => {});

say("applying the course's example object in each cluster, and one with its password in a Secret");
const example = await Deno.readTextFile(`${ROOT}deploy/mysql-instance.yaml`);
for (const ctx of contexts) await kubectl(ctx, ["apply", "-f", "-"], example);
await kubectl(
  contexts[1],
  ["apply", "-f", "-"],
  stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "orders-db-password", namespace: "default" },
    stringData: { password: "s3cret with 'quotes' and $dollars" },
  }),
);
await kubectl(
  contexts[1],
  ["apply", "-f", "-"],
  stringify({
    apiVersion: "otus.homework/v1",
    kind: "MySQL",
    metadata: { name: "orders", namespace: "default" },
    spec: {
      image: "mysql:8.4",
      database: "orders",
      passwordSecretRef: { name: "orders-db-password" },
      storage_size: "2Gi",
      backup: { schedule: "0 3 * * *", retention: 7 },
    },
  }),
);

const deadline = Date.now() + timeoutMs;
let lastTable = "";
for (;;) {
  const out = await main([
    "status",
    "--kubeconfig",
    kubeconfig,
    ...contexts.flatMap((c) => ["--context", c]),
    "-o",
    "json",
  ], {
    stdout: "piped",
    stderr: "piped",
  }).output();
  const table = await main([
    "status",
    "--kubeconfig",
    kubeconfig,
    ...contexts.flatMap((c) => ["--context", c]),
  ], {
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(table.stdout).replace(/\s+\d+[smhd]\s*$/gm, "");
  if (text !== lastTable) {
    console.log("\n" + new TextDecoder().decode(table.stdout));
    lastTable = text;
  }
  const items: Array<{ ready: string }> = out.success
    ? JSON.parse(new TextDecoder().decode(out.stdout)).items
    : [];
  if (items.length === 3 && items.every((i) => i.ready === "True")) break;
  if (Date.now() > deadline) {
    operator.kill("SIGTERM");
    await operator.status;
    throw new Error(`not every object became Ready within ${timeoutMs / 1000}s; see ${logFile}`);
  }
  await new Promise((r) => setTimeout(r, 2000));
}

say("every example object is Ready.");
console.log(`
Look around:
  eval "$(deno task cluster env)"                          # KUBECONFIG=${kubeconfig} and the pinned kubectl
  kubectl --context ${contexts[0]} get ms                      # the MySQL objects (short name ms)
  kubectl --context ${contexts[1]} describe ms orders          # conditions and events
  kubectl --context ${contexts[0]} get deploy,svc,pvc,secret -l app.kubernetes.io/managed-by=mysql-operator
  deno run -A main.ts status --all-contexts --kubeconfig ${kubeconfig}
  tail -f ${logFile}   # the operator's log

Stop:
  Ctrl-C stops the operator (gracefully: leases are released)
  deno task cluster down                                        # deletes the demo clusters
`);
if (values.exit) {
  operator.kill("SIGTERM");
  await operator.status;
  Deno.exit(0);
}
say("the operator keeps running; press Ctrl-C to stop it.");
Deno.addSignalListener("SIGINT", () => operator.kill("SIGTERM"));
const status = await operator.status;
Deno.exit(status.code);

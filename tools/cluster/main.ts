/**
 * `deno task cluster up|down|status|env|stop|start|build`: local Kubernetes control planes (kwokctl, binary
 * runtime, fake nodes) from binaries built out of the Go module proxy. Run with `--help` for the options.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { ensureBinaries } from "./binaries.ts";
import {
  checkClusterName,
  clusterStatuses,
  downClusters,
  startCluster,
  stderrLogger,
  stopCluster,
  upClusters,
} from "./clusters.ts";
import { mergeKubeconfigs } from "./kubeconfig.ts";
import { clusterPaths, contextName } from "./paths.ts";
import { compactForStop } from "./etcd.ts";
import { loadRealNode, realNodeOptions, stopClustersAndRealNode, taintFakeNodes } from "./real_node.ts";
import { clusterState, listClusterNames } from "./state.ts";

const USAGE = `usage: deno task cluster <command> [options]

commands:
  up       build the binaries if needed, then create/start/reuse the clusters (one at a time)
  down     stop and delete clusters (default: every mo-<n> cluster; --all: every cluster incl. tests')
  status   per cluster: running?, API server URL, nodes, context
  env      print shell exports: eval "$(deno task cluster env)"
  stop N   kwokctl stop cluster N (simulate a dead cluster; data kept); stop --all: every running cluster
  start N  kwokctl start cluster N
  build    only build/check the binary cache

options:
  --count N          number of clusters, named mo-1..mo-N (default 2)
  --names a,b        explicit cluster names (contexts are kwok-<name>)
  --nodes N          fake nodes per cluster (up; default 1)
  --kcm-qps N        kube-controller-manager --kube-api-qps N (burst 1.5N) for NEW clusters (benchmarks)
  --real-node        up/down/status: also manage a real kubelet node in the FIRST cluster (tools/real_node)
  --home-kubeconfig  up: also merge the contexts into ~/.kube/config (not done unless asked)
  --all              down: delete every cluster in the workdir, the tests' mo-test-* included;
                     stop: stop every running cluster (and take the real node down)
  --json             status: machine-readable output
`;

/** Default cluster names of `up`: mo-1..mo-N (the tests use mo-test-*, so a demo set is never touched). */
export function defaultNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `mo-${i + 1}`);
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

async function writeHomeKubeconfig(merged: string): Promise<string> {
  const home = Deno.env.get("HOME");
  if (!home) throw new Error("HOME is not set");
  const path = `${home}/.kube/config`;
  const existing = await Deno.readTextFile(path).catch(() => "");
  const ours = parse(merged) as { "current-context"?: string };
  await Deno.mkdir(`${home}/.kube`, { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, mergeKubeconfigs([existing, merged], ours["current-context"]), {
    mode: 0o600,
  });
  await Deno.rename(tmp, path);
  return path;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      count: { type: "string" },
      names: { type: "string" },
      nodes: { type: "string" },
      "kcm-qps": { type: "string" },
      "real-node": { type: "boolean", default: false },
      "home-kubeconfig": { type: "boolean", default: false },
      all: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (values.count !== undefined && values.names !== undefined) {
    throw new Error("use --count or --names, not both");
  }
  const explicitNames = values.names?.split(",").map((s) => s.trim()).filter(Boolean);
  const names = explicitNames ?? defaultNames(positiveInt("--count", values.count) ?? 2);
  names.forEach(checkClusterName);
  const paths = await clusterPaths();

  switch (command) {
    case "build": {
      await ensureBinaries();
      console.log(
        `binaries: ${paths.k8s}\n          ${paths.etcd}\n          ${paths.kwok}\nbin dir:  ${paths.bin}`,
      );
      return 0;
    }
    case "up": {
      const t0 = Date.now();
      const res = await upClusters({
        names,
        kcmQps: positiveInt("--kcm-qps", values["kcm-qps"]),
        nodes: positiveInt("--nodes", values.nodes),
      });
      if (values["real-node"]) {
        const rn = await loadRealNode();
        stderrLogger(`real node: joining cluster ${names[0]}`);
        await rn.realNodeUp(realNodeOptions(paths, names[0]));
        await taintFakeNodes(paths, names[0]);
        stderrLogger(`real node: fake nodes of ${names[0]} tainted ${"kwok.x-k8s.io/node=fake:NoSchedule"}`);
      }
      stderrLogger(`up: ${names.length} cluster(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      console.log(`kubeconfig: ${res.kubeconfig}`);
      console.log(`contexts:   ${res.contexts.join(" ")}`);
      if (values["home-kubeconfig"]) {
        console.log(`also merged into ${await writeHomeKubeconfig(await Deno.readTextFile(res.kubeconfig))}`);
      }
      console.log(
        `use:        eval "$(deno task cluster env)"; kubectl --context ${res.contexts[0]} get nodes`,
      );
      return 0;
    }
    case "down": {
      let targets = names;
      if (values.all) targets = await listClusterNames(paths);
      else if (!explicitNames && values.count === undefined) {
        targets = (await listClusterNames(paths)).filter((n) => /^mo-\d+$/.test(n));
      }
      // The real node goes with its cluster (a kubelet left serving a deleted cluster is only load), and with
      // --real-node whichever cluster it belongs to.
      const rn = await loadRealNode();
      const owner = await rn.realNodeOwner();
      if (owner && (values["real-node"] || targets.includes(owner))) {
        await rn.realNodeDown(realNodeOptions(paths, owner));
        stderrLogger(`real node: removed from cluster ${owner}`);
      } else if (values["real-node"]) stderrLogger("real node: none is set up");
      if (targets.length === 0) stderrLogger("down: no clusters to delete");
      else await downClusters(targets);
      return 0;
    }
    case "status": {
      const statuses = await clusterStatuses(explicitNames);
      const realNode = values["real-node"]
        ? await (await loadRealNode()).realNodeStatus(realNodeOptions(paths, names[0]))
        : undefined;
      if (values.json) {
        console.log(JSON.stringify({ kubeconfig: paths.kubeconfig, clusters: statuses, realNode }, null, 2));
        return 0;
      }
      console.log(`kubeconfig: ${paths.kubeconfig}\nworkdir:    ${paths.workdir}`);
      if (statuses.length === 0) console.log("no clusters (run: deno task cluster up)");
      for (const s of statuses) {
        const state = s.running
          ? (s.apiReady ? "running" : "running, API not ready")
          : s.exists
          ? "stopped"
          : "absent";
        const down = s.components.filter((c) => !c.alive).map((c) => c.name);
        console.log(`${s.name}: ${state}${down.length && s.exists ? ` (dead: ${down.join(", ")})` : ""}`);
        console.log(`  context: ${s.context}`);
        if (s.server) console.log(`  server:  ${s.server}`);
        if (s.nodes.length) {
          console.log(
            `  nodes:   ${
              s.nodes.map((n) => `${n.name}${n.fake ? "(fake)" : ""}=${n.ready ? "Ready" : "NotReady"}`).join(
                " ",
              )
            }`,
          );
        }
      }
      if (values["real-node"]) console.log(`real node (${names[0]}): ${stringify(realNode).trim()}`);
      return 0;
    }
    case "env": {
      // Only prints: eval-able in any shell session, fast, and no build is started behind the user's back.
      console.log(`export KUBECONFIG=${shellQuote(paths.kubeconfig)}`);
      console.log(`export PATH=${shellQuote(paths.bin)}:"$PATH"`);
      try {
        await Deno.stat(`${paths.bin}/kubectl`);
      } catch {
        console.error(
          `cluster: note: ${paths.bin} is empty until the binaries are built (deno task cluster up)`,
        );
      }
      return 0;
    }
    case "stop":
      if (values.all) {
        // Every running cluster, and the real node first when it belongs to any cluster here (data kept on disk).
        const all = await listClusterNames(paths);
        const running: string[] = [];
        for (const n of all) if ((await clusterState(paths, n)).running) running.push(n);
        // Compacted and defragmented first: a database file that only grew makes the next start slow.
        await compactForStop(paths, running, stderrLogger);
        await stopClustersAndRealNode(paths, running, stderrLogger, all);
        stderrLogger(running.length ? `stopped ${running.join(", ")}` : "stop: no running clusters");
        return 0;
      }
    // falls through
    case "start": {
      const [name] = rest;
      if (!name) throw new Error(`${command} needs a cluster name (see: deno task cluster status)`);
      checkClusterName(name);
      if (command === "stop") await stopCluster(name);
      else await startCluster(name);
      stderrLogger(
        `cluster ${name}: ${command === "stop" ? "stopped" : "started"} (context ${contextName(name)})`,
      );
      return 0;
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`cluster: error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}

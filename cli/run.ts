/**
 * `run`: the operator until SIGINT/SIGTERM. The composition root: the generic runtime (runtime/operator.ts) runs
 * the MySQL controller (reconcilers/mysql_controller.ts) in every selected cluster.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { intFlag, oneOf, parse, RUN_FLAGS, UsageError } from "./args.ts";
import { resolveSelection } from "./select.ts";
import { LOG_CATEGORY, setupLogging } from "../runtime/logging.ts";
import { startOperator } from "../runtime/operator.ts";
import { podNamespace } from "../runtime/kube/in_cluster.ts";
import { mysqlController } from "../reconcilers/mysql_controller.ts";
import { ANNOTATIONS } from "../api/mysql.ts";
import { HELP } from "./help.ts";

function defaultIdentity(): string {
  let host = "local";
  try {
    host = Deno.hostname();
  } catch { /* no --allow-sys=hostname */ }
  return `${host}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Runs the operator; resolves with the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const f = parse(args, RUN_FLAGS);
  if (f.help) {
    console.log(HELP.run);
    return 0;
  }
  const logFormat = oneOf(f["log-format"], "log-format", ["json", "pretty"], "json");
  const logLevel = oneOf(f["log-level"], "log-level", ["debug", "info", "warning", "error"], "info");
  const pullPolicy = f["image-pull-policy"]
    ? oneOf(f["image-pull-policy"], "image-pull-policy", ["Always", "IfNotPresent", "Never"], "IfNotPresent")
    : undefined;
  if (f["leader-elect"] && f["no-leader-elect"]) {
    throw new UsageError("--leader-elect and --no-leader-elect conflict");
  }
  const leaseSeconds = intFlag(f["lease-duration-seconds"], "lease-duration-seconds", 15, 3);
  // 32, as many as the benchmark's lower bound writes at once: with 8, a burst of 300 new objects in one cluster
  // waited up to 120 s in the queue before a first pass (issue 20's tail); 32 cut that to 60-80 s for ~10 MB more
  // peak memory. A pass at rest reads only the caches, so idle clusters cost nothing more.
  const concurrency = intFlag(f.concurrency, "concurrency", 32);
  // In-flight passes are what a burst costs in memory: at 10 x 100, 32 per cluster peaked at 199.6 MB and 10 at
  // 163.1 MB, in the same time (179.8 and 195.5 s; bench/results/20261204-090857-10x100, -093308-10x100). 64 keeps
  // 32 for up to 2 clusters; at 3 x 300 (21 each) it took the peak 99.3 / 103.8 -> 97.0 MB, for all Ready after
  // 148.9 s against 133.5 / 146.1 (bench/results/20261205-171259-3x300; README, "Memory").
  const totalConcurrency = intFlag(f["total-concurrency"], "total-concurrency", 64);
  const resync = intFlag(f["resync-seconds"], "resync-seconds", 600, 10);
  await setupLogging(logFormat, logLevel);
  const log = getLogger([LOG_CATEGORY]);
  const dir = f["kubeconfig-dir"];
  // --kubeconfig-dir alone serves the directory's contexts only (not also the default kubeconfig's current one).
  const dirOnly = dir !== undefined && !f.kubeconfig && !f.context?.length && !f["all-contexts"] &&
    !f["in-cluster"];
  const secretsSelector = f["cluster-secrets-selector"];
  const secretsNamespace = f["cluster-secrets-namespace"] ?? Deno.env.get("POD_NAMESPACE") ?? podNamespace();
  if (secretsSelector !== undefined && !secretsNamespace) {
    throw new UsageError(
      "--cluster-secrets-selector needs --cluster-secrets-namespace (no pod namespace here)",
    );
  }
  const selection = dirOnly ? { contexts: [] } : resolveSelection(f);
  if (secretsSelector !== undefined && !selection.inCluster && selection.contexts.length === 0) {
    throw new UsageError("--cluster-secrets-selector reads the Secrets through --in-cluster or a --context");
  }
  const httpAddr = f["http-addr"] === "off" ? undefined : f["http-addr"] ?? "127.0.0.1:8080";
  const identity = f.identity ?? defaultIdentity();
  const op = await startOperator({
    kubeconfig: selection.kubeconfig,
    contexts: selection.contexts,
    inCluster: selection.inCluster,
    namespaces: f.namespace ?? [],
    concurrency,
    totalConcurrency,
    httpAddr,
    identity,
    lease: f["no-leader-elect"] ? undefined : {
      namespace: f["lease-namespace"] ?? Deno.env.get("POD_NAMESPACE") ?? podNamespace() ?? "kube-system",
      name: f["lease-name"] ?? "mysql-operator",
      identity,
      leaseDurationMs: leaseSeconds * 1000,
    },
    shard: !f["no-shard"],
    kubeconfigDir: dir,
    clusterSecrets: secretsSelector !== undefined
      ? { namespace: secretsNamespace!, selector: secretsSelector, pauseAnnotation: ANNOTATIONS.reconcile }
      : undefined,
    pausedContexts: f["paused-context"] ?? [],
    controller: mysqlController({
      render: { hostPathRoot: f["hostpath-root"] ?? "/tmp/hostpath_pv", imagePullPolicy: pullPolicy },
      resyncMs: resync * 1000,
    }),
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      log.info("received {signal}", { signal: sig });
      op.stop();
    });
  }
  await op.done;
  return op.failed.length > 0 && op.runtimes.length === 0 ? 1 : 0;
}

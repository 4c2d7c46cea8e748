/**
 * `deno task test` (and `npm test`): the whole suite, `deno test -A --parallel` with DENO_JOBS=4 unless set; extra
 * arguments go to `deno test` (e.g. a file). After it:
 * - one line naming the tests that were skipped and why (they print `SKIPPED <file>: <reason>`);
 * - the local clusters this run started are stopped (kept on disk, so the next run starts them in seconds), and the
 *   real node is taken down when its cluster is one of them. `--keep-clusters` (or `MO_KEEP_CLUSTERS=1`) leaves
 *   them running; clusters that were running before the run are never touched;
 * - the closing line `tests: N passed, N failed, N skipped`.
 * The terminal gets a digest of deno test's output (tools/test_output.ts: failures, skips, slow tests, progress);
 * the whole output goes to `.test-output.log`; `--verbose` shows it all.
 * The exit code is `deno test`'s; in CI (`CI=true`) as root on Linux, where every test can run, a skipped test
 * fails the run too.
 *
 * @module
 */
import { type ClusterPaths, clusterPaths } from "./cluster/paths.ts";
import { kubectlDirect } from "./cluster/kwokctl.ts";
import { clusterState, listClusterNames } from "./cluster/state.ts";
import { stopClustersAndRealNode } from "./cluster/real_node.ts";
import { compactForStop } from "./cluster/etcd.ts";
import { downClusters } from "./cluster/clusters.ts";
import { staleClusters } from "./cluster/settings.ts";
import { DENO_CLOSING, plain, TerminalView } from "./test_output.ts";

/** Where a run writes deno test's whole output (gitignored); the terminal gets a digest (tools/test_output.ts). */
export const LOG_FILE = ".test-output.log";

/** What the run's output says about its tests. */
export interface SuiteSummary {
  /** From deno test's closing line; undefined when it printed none (it crashed or was killed). */
  passed?: number;
  failed?: number;
  ignored?: number;
  /** `SKIPPED <what>: <why>` lines the test files printed. */
  skipped: string[];
}

/** Folds one output line into the summary (pure). */
export function readLine(summary: SuiteSummary, raw: string): void {
  const line = plain(raw).trim();
  const closing = line.match(DENO_CLOSING);
  if (closing) {
    summary.passed = Number(closing[1]);
    summary.failed = Number(closing[2]);
    summary.ignored = Number(closing[3].match(/(\d+) ignored/)?.[1] ?? 0);
    return;
  }
  const skip = line.match(/^SKIPPED (.*)$/);
  if (skip && !summary.skipped.includes(skip[1]) && summary.skipped.length < 100) {
    summary.skipped.push(skip[1]);
  }
}

/** The closing lines (pure). */
export function closingLines(s: SuiteSummary, code: number): string[] {
  const lines: string[] = [];
  if (s.skipped.length) lines.push(`skipped: ${s.skipped.join("; ")}`);
  if (s.passed === undefined) lines.push(`tests: deno test printed no summary (exit code ${code})`);
  else lines.push(`tests: ${s.passed} passed, ${s.failed} failed, ${s.ignored} skipped`);
  return lines;
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  out: { write(p: Uint8Array): Promise<number> },
  log: Deno.FsFile,
  view: TerminalView,
  summary: SuiteSummary,
) {
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  let rest = "";
  let writable = true;
  // A closed stdout (`deno task test | head`) must not end the run before the clusters are stopped.
  const write = async (text: string) => {
    if (writable && text) await writeAll(out, enc.encode(text)).catch(() => writable = false);
  };
  const take = (l: string) => view.take(l).map((s) => s + "\n").join("");
  for await (const chunk of stream) {
    await writeAll(log, chunk);
    const text = rest + dec.decode(chunk, { stream: true });
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    if (rest.length > 65_536) { // a line that never ends is shown as it comes and must not grow without bound
      await write(rest);
      rest = "";
    }
    for (const l of lines) readLine(summary, l);
    await write(lines.map(take).join(""));
  }
  if (rest) {
    readLine(summary, rest);
    await write(take(rest));
  }
}

async function writeAll(out: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  for (let n = 0; n < data.length;) n += await out.write(data.subarray(n));
}

async function runningClusters(): Promise<Set<string>> {
  const paths = await clusterPaths();
  const running = new Set<string>();
  for (const name of await listClusterNames(paths)) {
    if ((await clusterState(paths, name)).running) running.add(name);
  }
  return running;
}

/** Names of the namespaces of cluster `name` that are Terminating; throws when the cluster cannot be asked. */
export async function terminatingNamespaces(paths: ClusterPaths, name: string): Promise<string[]> {
  const out = await kubectlDirect(paths, name, [
    "get",
    "namespaces",
    "--request-timeout=5s",
    "-o",
    String.raw`jsonpath={range .items[?(@.status.phase=="Terminating")]}{.metadata.name}{"\n"}{end}`,
  ], { timeoutMs: 10_000 });
  return out.split("\n").filter((l) => l.trim());
}

/**
 * Waits (at most a minute) for the tests' namespaces to finish terminating, so that a stopped cluster does not
 * carry them into the next run; names those that do not (a test that left an object nobody will finalize).
 */
async function waitNamespacesGone(paths: ClusterPaths, names: string[], log: (m: string) => void) {
  const deadline = Date.now() + 60_000;
  let left: string[] = [];
  const unasked = new Set<string>(); // clusters that could not be asked: said once, then left out
  const ask = async (n: string) => {
    try {
      return (await terminatingNamespaces(paths, n)).map((ns) => `${n}/${ns}`);
    } catch (e) {
      unasked.add(n);
      log(`could not list the namespaces of ${n}: ${e instanceof Error ? e.message.split("\n").at(-1) : e}`);
      return [];
    }
  };
  do {
    left = (await Promise.all(names.filter((n) => !unasked.has(n)).map(ask))).flat();
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  } while (Date.now() < deadline);
  log(
    `namespaces still Terminating after a minute (a test left something nobody finalizes): ${
      left.join(", ")
    }`,
  );
}

/** Stops the clusters that run now and did not before (the real node first, when one of them has it). */
async function stopStarted(before: Set<string>): Promise<void> {
  const started = [...await runningClusters()].filter((n) => !before.has(n));
  if (started.length === 0) return;
  const log = (m: string) => console.error(`test: ${m}`);
  const paths = await clusterPaths();
  await waitNamespacesGone(paths, started, log);
  await compactForStop(paths, started, log);
  await stopClustersAndRealNode(paths, started, log).catch((e) =>
    log(`stopping the clusters failed: ${e instanceof Error ? e.message : e}`)
  );
  log(
    `stopped the clusters this run started (${started.join(", ")}); kept on disk for the next run. ` +
      "`deno task test --keep-clusters` leaves them running; `deno task cluster down --all` deletes them",
  );
}

/** In CI as root on Linux every test can run (it installs what it needs), so a skip there is a failure. */
function mustRunEverything(): boolean {
  return Deno.env.get("CI") === "true" && Deno.build.os === "linux" && Deno.uid() === 0;
}

/** Prefixes of the clusters the tests make (tests/_clusters.ts and the files that use their own). */
export const TEST_CLUSTER_PREFIXES = [
  "mo-test-",
  "mo-watch-",
  "mo-outage-",
  "mo-demo-test-",
  "mo-real-",
  "mo-ports-",
  "mo-chaos-test-",
];

/**
 * Deletes test clusters created with older settings (e.g. before a change of the kwok stages): the tests would
 * otherwise run against the old behaviour. Done before any test starts, so no test loses a cluster it uses; they
 * are created again on demand.
 */
async function deleteStaleTestClusters(): Promise<void> {
  const paths = await clusterPaths();
  const names = (await listClusterNames(paths)).filter((n) =>
    TEST_CLUSTER_PREFIXES.some((p) => n.startsWith(p))
  );
  const stale = await staleClusters(paths, names);
  if (stale.length === 0) return;
  const log = (m: string) => console.error(`test: ${m}`);
  log(`deleting test clusters made with older settings (made again on demand): ${stale.join(", ")}`);
  await stopClustersAndRealNode(paths, stale, log);
  await downClusters(stale, log);
}

async function main(args: string[]): Promise<number> {
  const keep = args.includes("--keep-clusters") || Deno.env.get("MO_KEEP_CLUSTERS") === "1";
  const verbose = args.includes("--verbose");
  const testArgs = args.filter((a) => a !== "--keep-clusters" && a !== "--verbose");
  await deleteStaleTestClusters();
  const before = await runningClusters();
  const log = await Deno.open(LOG_FILE, { write: true, create: true, truncate: true });
  if (!verbose) {
    console.log(
      `test: deno test's whole output goes to ${LOG_FILE}; shown here: failures, skips, tests running for over ` +
        "a minute, progress and the summary (`--verbose` shows everything)",
    );
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", ...testArgs],
    env: { DENO_JOBS: Deno.env.get("DENO_JOBS") ?? "4" },
    stdin: "inherit",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Ctrl-C reaches the test process too (same process group): let it end, then clean up here.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  const summary: SuiteSummary = { skipped: [] };
  const views = [new TerminalView({ verbose }), new TerminalView({ verbose })];
  await Promise.all([
    pump(child.stdout, Deno.stdout, log, views[0], summary),
    pump(child.stderr, Deno.stderr, log, views[1], summary),
  ]);
  const { code } = await child.status;
  Deno.removeSignalListener("SIGINT", ignore);
  log.close();
  for (const l of views.flatMap((v) => v.finish(code !== 0, LOG_FILE))) console.log(l);
  if (!keep) await stopStarted(before);
  for (const l of closingLines(summary, code)) console.log(l);
  if (code === 0 && mustRunEverything() && (summary.skipped.length || summary.ignored)) {
    console.log(
      "tests: CI runs as root on Linux, where every test can run, yet some were skipped: failing the run",
    );
    return 1;
  }
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

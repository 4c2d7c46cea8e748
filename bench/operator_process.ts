/**
 * Starts the operator for the benchmark as users run it: `main.ts run` with the shipped permission flags, as its
 * own process, logs to a file (the tests' helper). `root` may name another checkout of the project (e.g. `git
 * archive` of an older commit), which is how a change's before/after numbers are taken on the same clusters.
 *
 * @module
 */
import { type OperatorProcess, startOperatorProcess } from "../tests/_operator.ts";

export type { OperatorProcess };

/**
 * Starts `<root>/main.ts run --http-addr 127.0.0.1:<free> ...args` (extra environment `env`, e.g. DENO_V8_FLAGS)
 * and waits until /healthz answers.
 */
export function startOperator(
  args: string[],
  root?: string,
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
  return startOperatorProcess(args, env, { root, logPrefix: "mysql-operator-bench-" });
}

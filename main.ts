/**
 * mysql-operator's entry point: `run`, `status`, `crd`, `diff`, `backups`, `migrate`, `--help`, `--version`. The same file is what `deno task
 * start`, `deno task dev`, the compiled binary and the container image run.
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { UsageError } from "./cli/args.ts";
import { HELP } from "./cli/help.ts";

/** The operator's version (deno.json). */
export const VERSION: string = denoJson.version;

/** Runs the command line; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "run":
        return await (await import("./cli/run.ts")).runCommand(rest);
      case "status":
        return await (await import("./cli/status.ts")).statusCommand(rest);
      case "crd":
        return await (await import("./cli/crd.ts")).crdCommand(rest);
      case "diff":
        return await (await import("./cli/diff.ts")).diffCommand(rest);
      case "backups":
        return await (await import("./cli/backups.ts")).backupsCommand(rest);
      case "migrate":
        return await (await import("./cli/migrate.ts")).migrateCommand(rest);
      case "--version":
      case "version":
        console.log(`mysql-operator ${VERSION} (deno ${Deno.version.deno})`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(HELP.main);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const help = ["run", "status", "crd", "diff", "backups", "migrate"].includes(command ?? "")
        ? `${command} --help`
        : "--help";
      console.error(`mysql-operator: ${err.message}\nRun 'mysql-operator ${help}' for usage.`);
      return 2;
    }
    console.error(`mysql-operator: ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

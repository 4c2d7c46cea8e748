/**
 * Logging with @logtape/logtape (standing in for jsr:@std/log, which cannot be reached here): JSON lines by default,
 * a readable one-line format for a terminal. Every record carries the cluster, and records about an object carry
 * its namespace and name (loggers made with `.with({...})`).
 *
 * @module
 */
import {
  configure,
  getJsonLinesFormatter,
  getLogger,
  getStreamSink,
  type Logger,
  type LogRecord,
} from "@logtape/logtape";

/** Output format. */
export type LogFormat = "json" | "pretty";

/** Root category of the operator's loggers. */
export const LOG_CATEGORY = "mysql-operator";

function pretty(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 23);
  const p = record.properties as Record<string, unknown>;
  const where = [p.cluster, p.namespace && p.name ? `${p.namespace}/${p.name}` : undefined].filter(Boolean)
    .join(" ");
  const msg = record.message.map((
    m,
  ) => (typeof m === "string" ? m : m instanceof Error ? m.message : JSON.stringify(m)))
    .join("");
  return `${time} ${record.level.toUpperCase().padEnd(7)} ${where ? `[${where}] ` : ""}${msg}\n`;
}

/** Configures logging once per process. */
export async function setupLogging(
  format: LogFormat,
  level: "debug" | "info" | "warning" | "error" = "info",
) {
  await configure({
    reset: true,
    sinks: {
      out: getStreamSink(Deno.stderr.writable, {
        formatter: format === "json"
          ? getJsonLinesFormatter({ properties: "flatten", message: "rendered" })
          : pretty,
      }),
    },
    loggers: [
      { category: [LOG_CATEGORY], lowestLevel: level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** The operator's logger for one cluster. */
export function clusterLogger(cluster: string): Logger {
  return getLogger([LOG_CATEGORY]).with({ cluster });
}

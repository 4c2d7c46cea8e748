/**
 * What the API server says a process wrote: its audit log (tools/cluster/audit.ts) filtered by the User-Agent the
 * operator sends (`mysql-operator (<identity>)`). Tests judge idle writes and leadership by it, not by the
 * operator's own counters.
 *
 * @module
 */
import { type AuditEvent, readAuditEvents } from "../tools/cluster/audit.ts";
import { clusterPaths } from "../tools/cluster/paths.ts";
import { userAgent } from "../runtime/operator.ts";

export type { AuditEvent };

/** The local cluster behind a `kwok-<name>` context. */
export function clusterOfContext(context: string): string {
  if (!context.startsWith("kwok-")) throw new Error(`not a local cluster's context: ${context}`);
  return context.slice("kwok-".length);
}

/** Every write the API server recorded on a context's cluster since `since`, oldest first. */
export async function writesSince(context: string, since: Date): Promise<AuditEvent[]> {
  return await readAuditEvents(await clusterPaths(), clusterOfContext(context), since);
}

/** The identity in an operator's User-Agent, or undefined for any other program. */
export function operatorIdentity(e: AuditEvent): string | undefined {
  const m = /^mysql-operator \((.+)\)$/.exec(e.userAgent ?? "");
  return m?.[1];
}

/** Writes by the operator process with this identity (any resource, any namespace). */
export async function writesBy(context: string, identity: string, since: Date): Promise<AuditEvent[]> {
  const ua = userAgent(identity);
  return (await writesSince(context, since)).filter((e) => e.userAgent === ua);
}

/** One line per event, for assertion messages. */
export function describe(events: AuditEvent[]): string {
  return events.map((e) => {
    const o = e.objectRef ?? {};
    const what = `${o.resource ?? "?"}${o.subresource ? "/" + o.subresource : ""} ${o.namespace ?? ""}/${
      o.name ?? ""
    }`;
    return `${e.requestReceivedTimestamp} ${e.verb} ${what} → ${e.responseStatus?.code} (${e.userAgent})`;
  }).join("\n");
}

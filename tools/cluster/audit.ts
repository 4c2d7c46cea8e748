/**
 * The API server's audit log of every local cluster: each write (create, update, patch, delete) with who made it
 * and from which program (User-Agent). Tests judge "the operator wrote nothing" and "only the leader wrote" by it,
 * not by the operator's own counters, which a broken counter would make read 0.
 *
 * Reads are not recorded (level None): they are most of the traffic and no claim needs them. kwokctl copies the
 * policy into the cluster at creation and logs to `<cluster>/logs/audit.log`; the API server rotates it at
 * {@link AUDIT_LOG_MAX_MB} MiB keeping one old file, so a long-lived test cluster's log stays bounded.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { clusterDir, type ClusterPaths } from "./paths.ts";

/** The audit policy: writes at Metadata level (who, what, when, answer), nothing else. */
export const AUDIT_POLICY = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  // One event per request, written when the answer is sent.
  omitStages: ["RequestReceived", "ResponseStarted"],
  rules: [
    { level: "None", verbs: ["get", "list", "watch"] },
    // Node heartbeats: a write every few seconds per node, of no interest to any test.
    {
      level: "None",
      resources: [{ group: "coordination.k8s.io", resources: ["leases"] }],
      namespaces: ["kube-node-lease"],
    },
    { level: "Metadata" },
  ],
};

/** Size (MiB) at which the API server rotates the audit log. */
export const AUDIT_LOG_MAX_MB = 64;

const POLICY_TEXT = stringify(AUDIT_POLICY);

/**
 * Where the policy file lives: named by its content, so a changed policy is a changed path in the cluster
 * configuration and therefore a changed settings fingerprint (clusters made with the old policy are stale).
 */
export function auditPolicyFile(paths: ClusterPaths): string {
  const hash = createHash("sha256").update(POLICY_TEXT).digest("hex").slice(0, 12);
  return `${paths.workdir}/audit-policy-${hash}.yaml`;
}

/** Writes the policy file if it is missing (kwokctl copies it when a cluster is created). */
export async function writeAuditPolicy(paths: ClusterPaths): Promise<string> {
  const file = auditPolicyFile(paths);
  const existing = await Deno.readTextFile(file).catch(() => undefined);
  if (existing !== POLICY_TEXT) {
    await Deno.mkdir(paths.workdir, { recursive: true });
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, POLICY_TEXT);
    await Deno.rename(tmp, file);
  }
  return file;
}

/** One audit event (the fields the tests read). */
export interface AuditEvent {
  verb: string;
  user: { username: string };
  userAgent?: string;
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

/**
 * The audit events of a cluster received at or after `since` (current and rotated files), oldest first. A cluster
 * created before auditing was added has no log: that is an error, not an empty answer.
 */
export async function readAuditEvents(paths: ClusterPaths, name: string, since: Date): Promise<AuditEvent[]> {
  const dir = `${clusterDir(paths, name)}/logs`;
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^audit.*\.log$/.test(e.name)) files.push(`${dir}/${e.name}`);
  }
  if (!files.includes(`${dir}/audit.log`)) throw new Error(`cluster ${name} has no audit log in ${dir}`);
  const events: AuditEvent[] = [];
  // The log holds every earlier run's writes too (up to twice AUDIT_LOG_MAX_MB): lines received over a second
  // before `since` are skipped on their timestamp's text, unparsed (RFC 3339 in UTC compares as text to the second).
  const floor = new Date(since.getTime() - 1000).toISOString().slice(0, 19);
  for (const file of files) {
    // A rotated file can be removed by the next rotation between the listing and this read.
    const text = await Deno.readTextFile(file).catch((err) => {
      if (err instanceof Deno.errors.NotFound && file !== `${dir}/audit.log`) return "";
      throw err;
    });
    for (const line of text.split("\n")) {
      const at = /"requestReceivedTimestamp":"([^"]{19})/.exec(line)?.[1];
      if (!at || at < floor) continue;
      let e: AuditEvent;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a line being written as we read
      }
      if (new Date(e.requestReceivedTimestamp) >= since) events.push(e);
    }
  }
  return events.sort((a, b) => a.requestReceivedTimestamp.localeCompare(b.requestReceivedTimestamp));
}

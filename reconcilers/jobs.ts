/**
 * Reading Jobs: their state, their owner, and the one-line report their container left as termination message.
 *
 * @module
 */
import type { KubeClient, KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, RESOURCES } from "../runtime/kube/resources.ts";
import { byCodeUnits } from "../runtime/order.ts";
import { type JobReport, parseJobReport } from "../templates/job_report.ts";
import { JOB_UID_LABEL } from "../templates/jobs.ts";
import { REASONS } from "../api/status.ts";

/** Where a Job is. */
export type JobState = "active" | "succeeded" | "failed";

/** State of a Job from its conditions. */
export function jobState(job: KubeObject): JobState {
  const conds: Array<{ type: string; status: string }> = job.status?.conditions ?? [];
  if (conds.some((c) => c.type === "Complete" && c.status === "True")) return "succeeded";
  if (conds.some((c) => c.type === "Failed" && c.status === "True")) return "failed";
  return "active";
}

/** The reason and message of a failed Job (from its Failed condition). */
export function jobFailure(job: KubeObject): { reason: string; message: string } {
  const c = (job.status?.conditions ?? []).find((c: { type: string }) => c.type === "Failed");
  return { reason: c?.reason ?? REASONS.jobFailed, message: c?.message ?? "the Job failed" };
}

/** True when the Job's controller owner is the object with this UID. */
export function ownedBy(job: KubeObject, uid: string): boolean {
  return (job.metadata?.ownerReferences ?? []).some((o: { uid: string; controller?: boolean }) =>
    o.uid === uid && o.controller
  );
}

/**
 * The report of a finished Job: the termination message of its newest pod, only from pods the Job controller made
 * for THIS Job (label `batch.kubernetes.io/controller-uid` = the Job's UID), and only when the report names this
 * Job's UID itself. Anything else (no message, a pod or report of an earlier Job of the same name, a pod made by
 * hand with the Job's labels) is no report: a backup counts only with its own verified report.
 */
export async function readJobReport(client: KubeClient, job: KubeObject): Promise<JobReport | undefined> {
  const uid = job.metadata?.uid;
  if (!uid) return undefined;
  const pods = await client.list(collectionPath(RESOURCES.pod, job.metadata?.namespace), {
    labelSelector: `${JOB_UID_LABEL}=${uid}`,
  });
  const messages = pods.items
    .filter((p) => p.metadata?.labels?.[JOB_UID_LABEL] === uid)
    .flatMap((p) => (p.status?.containerStatuses ?? []) as Array<{ state?: { terminated?: KubeObject } }>)
    .map((s) => s.state?.terminated)
    .filter((t): t is KubeObject => Boolean(t?.message))
    .sort((a, b) => byCodeUnits(String(a.finishedAt ?? ""), String(b.finishedAt ?? "")));
  const report = parseJobReport(messages.at(-1)?.message);
  return report?.jobUid === uid ? report : undefined;
}

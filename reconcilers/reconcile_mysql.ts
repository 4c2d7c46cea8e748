/**
 * `reconcileMySQL(ctx, key)`: the one level-triggered reconcile of a MySQL object. It re-reads the object and its
 * children from the cluster's caches, never sees what event woke it, makes the cluster match the spec one step at a
 * time (waiting is a requeue, never a blocking loop), and writes status once at the end, only when it changed.
 *
 * @module
 */
import { ANNOTATIONS, type MySQL, validateMySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { ApiError } from "../runtime/kube/client.ts";
import { objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { backoffDelay } from "../runtime/backoff.ts";
import type { HandlerResult } from "../runtime/work_queue.ts";
import { childNames } from "../templates/names.ts";
import {
  objectRef,
  passwordSecretKeyRef,
  renderBackupPV,
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
  renderDeployment,
  renderSecret,
  renderService,
} from "../templates/mod.ts";
import type { ClusterContext } from "./context.ts";
import { type Action, ensureApplied, ensureCreated, rebindReleasedPV } from "./children.ts";
import { type AfterStatus, backupJobs, settleBackupJobs, startBackup } from "./backups.ts";
import { type CleanupResult, finalizer } from "./finalizer.ts";
import { reconcileRestore } from "./restore.ts";
import { nextSlot, parseCron, previousSlot } from "./cron.ts";
import { CONDITIONS, StatusBuilder, writeStatus } from "./status.ts";
import { jobState } from "./jobs.ts";

/** How long to wait before looking again at something that has no watch event of its own. */
const RECHECK_MS = 30_000;

/** Reconciles the MySQL object with key `ns/name` in the context's cluster. */
export async function reconcileMySQL(ctx: ClusterContext, key: string): Promise<HandlerResult> {
  const obj = ctx.cache.mysql(key);
  if (!obj) return {}; // gone: owner references let the garbage collector take the children
  const sb = new StatusBuilder(obj, ctx.now());
  const after: AfterStatus = [];
  let result: HandlerResult = {};
  let gone = false;
  try {
    result = await finalizer(ctx.client, obj, {
      apply: () => converge(ctx, obj, sb, after),
      cleanup: async () => {
        const r = await finalize(ctx, obj, sb, after);
        gone = r.done;
        return r;
      },
    });
  } catch (err) {
    const { reason, message } = describeError(err);
    sb.set(CONDITIONS.ready, "False", reason, message);
    sb.status.phase = obj.metadata.deletionTimestamp ? "Deleting" : "Failed";
    await ctx.events.emit(obj, "Warning", reason, message).catch(() => {});
    await writeStatus(ctx.client, obj, sb).catch((e) =>
      ctx.log.warn("status write failed: {error}", { error: e })
    );
    throw err;
  }
  if (!gone) await writeStatus(ctx.client, obj, sb);
  for (const step of after) await step();
  return withResync(ctx, result);
}

/** A periodic resync catches anything a watch missed, even for objects with nothing to wait for. */
function withResync(ctx: ClusterContext, r: HandlerResult): HandlerResult {
  const jitter = Math.round(ctx.options.resyncMs * 0.1 * Math.random());
  const resync = ctx.options.resyncMs + jitter;
  return { requeueAfterMs: Math.min(r.requeueAfterMs ?? resync, resync) };
}

/** A reason and message for an error, naming the refused verb and resource for Forbidden answers. */
export function describeError(err: unknown): { reason: string; message: string } {
  if (err instanceof ApiError) {
    if (err.status === 403) return { reason: "Forbidden", message: `the API server refused ${err.message}` };
    if (err.status === 0) return { reason: "APIUnreachable", message: err.message };
    return { reason: "APIError", message: err.message };
  }
  return { reason: "ReconcileError", message: (err as Error)?.message ?? String(err) };
}

function live(
  ctx: ClusterContext,
  kind: Parameters<ClusterContext["cache"]["child"]>[0],
  ns: string,
  name: string,
) {
  return ctx.cache.child(kind, `${ns}/${name}`);
}

/** Facts about the running instance that later steps need. */
interface Observed {
  available: boolean;
  host?: string;
  backupPVC?: KubeObject;
}

/**
 * Makes the children match the spec. `owned: false` renders mysqld's Deployment, Service and Secret without an
 * owner reference: during a foreground cascading deletion the garbage collector deletes every owned child first,
 * so the final backup needs a mysqld it will not take.
 */
async function applyChildren(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  owned = true,
): Promise<Observed> {
  // One event per pass for what it created and one for what it updated (not one per child: a new instance
  // cost 7 event writes, a third of its requests), sent even when a later step fails.
  const done = { Created: [] as string[], Updated: [] as string[] };
  try {
    return await writeChildren(ctx, obj, sb, owned, (kind, name, action) => {
      if (action === "none") return;
      done[action === "created" ? "Created" : "Updated"].push(`${kind} ${name}`);
      ctx.log.info("{action} {kind} {child}", { action, kind, child: name });
    });
  } finally {
    for (const [reason, list] of Object.entries(done)) {
      if (list.length) {
        await ctx.events.emit(obj, "Normal", reason, `${reason.toLowerCase()} ${list.join(", ")}`);
      }
    }
  }
}

async function writeChildren(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  owned: boolean,
  report: (kind: string, name: string, action: Action) => void,
): Promise<Observed> {
  const ns = obj.metadata.namespace;
  const names = childNames(objectRef(obj));
  const opts = ctx.options.render;

  const own = <T extends KubeObject>(o: T): T => {
    if (!owned) delete o.metadata?.ownerReferences;
    return o;
  };
  // Children that do not depend on each other are written at once (a pass was 8 sequential writes; under load
  // that, not the API server, set how soon a new instance got its Deployment). Each volume's claim follows its
  // PV; the Deployment comes last, so its pod never waits for a claim that does not exist yet.
  const writeSecret = async () => {
    const secret = renderSecret(obj);
    if (!secret) return;
    own(secret);
    const r = await ensureApplied(ctx, secret, live(ctx, "Secret", ns, names.secret));
    report("Secret", names.secret, r.action);
  };

  // Volumes: created once; a claim deleted by hand comes back bound to the same volume.
  const writeVolume = async (pv: KubeObject | undefined, pvc: KubeObject, pvcName: string) => {
    let livePV: KubeObject | undefined;
    if (pv) {
      const r = await ensureCreated(ctx, pv, ctx.cache.pv(pv.metadata!.name!));
      livePV = r.obj;
      report("PersistentVolume", pv.metadata!.name!, r.action);
    }
    const existing = live(ctx, "PersistentVolumeClaim", ns, pvcName);
    const r = await ensureCreated(ctx, pvc, existing);
    report("PersistentVolumeClaim", pvcName, r.action);
    if (livePV) await rebindReleasedPV(ctx, livePV, r.obj);
    if (pvcName === names.dataPVC && existing) {
      const want = pvc.spec?.resources?.requests?.storage;
      const have = existing.spec?.resources?.requests?.storage;
      if (want && have && want !== have) {
        sb.set(
          CONDITIONS.storageResized,
          "False",
          "ResizeNotSupported",
          `spec.storage_size is ${want} but the volume was created with ${have}; resizing an existing volume is not supported, the data volume keeps ${have}`,
        );
      } else sb.remove(CONDITIONS.storageResized);
    }
    return r.obj;
  };

  const writeService = async () => {
    const r = await ensureApplied(ctx, own(renderService(obj)), live(ctx, "Service", ns, names.service));
    report("Service", names.service, r.action);
    return r;
  };

  const [, , backupPVC, svc] = await allSettledOrThrow(
    [
      writeSecret(),
      writeVolume(renderDataPV(obj, opts), renderDataPVC(obj, opts), names.dataPVC),
      writeVolume(renderBackupPV(obj, opts), renderBackupPVC(obj, opts), names.backupPVC),
      writeService(),
    ] as const,
  );
  const dep = await ensureApplied(
    ctx,
    own(renderDeployment(obj, opts)),
    live(ctx, "Deployment", ns, names.deployment),
  );
  report("Deployment", names.deployment, dep.action);

  const d = dep.obj;
  const available = dep.action === "none" &&
    (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    (d.status?.updatedReplicas ?? 0) >= 1 && (d.status?.availableReplicas ?? 0) >= 1;
  const host = svc.obj.spec?.clusterIP && svc.obj.spec.clusterIP !== "None"
    ? svc.obj.spec.clusterIP
    : undefined;
  if (host) sb.status.serviceIP = host;
  return { available, host, backupPVC };
}

/**
 * Like Promise.all, but waits for every promise before throwing the first failure: no write is still in flight
 * (and unreported) when the pass goes on to its event and status.
 */
async function allSettledOrThrow<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Checks the password source; returns a problem message when pods could not start. */
async function checkCredentials(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
): Promise<string | undefined> {
  if (!obj.spec.passwordSecretRef) {
    sb.set(
      CONDITIONS.credentialsSecured,
      "False",
      "PlaintextPassword",
      `spec.password is readable by anyone who can read this MySQL object; it is copied into Secret ${
        childNames(objectRef(obj)).secret
      } for the pods, but prefer spec.passwordSecretRef`,
    );
    return undefined;
  }
  const ref = passwordSecretKeyRef(obj);
  const secret = await ctx.client.getOrUndefined(
    objectPath(RESOURCES.secret, obj.metadata.namespace, ref.name),
  );
  if (!secret) return `Secret ${ref.name} named by spec.passwordSecretRef does not exist`;
  if (!(ref.key in (secret.data ?? {})) && !(ref.key in (secret.stringData ?? {}))) {
    return `Secret ${ref.name} has no key ${JSON.stringify(ref.key)} (spec.passwordSecretRef.key)`;
  }
  sb.set(
    CONDITIONS.credentialsSecured,
    "True",
    "SecretReference",
    `the password is read from Secret ${ref.name}`,
  );
  return undefined;
}

/** The object lives: converge children, restore once, run requested and scheduled backups. */
async function converge(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, after: AfterStatus) {
  const v = validateMySQL(obj);
  if (!v.ok) {
    sb.set(CONDITIONS.ready, "False", "InvalidSpec", v.message);
    sb.status.phase = "Failed";
    sb.observe();
    await ctx.events.emit(obj, "Warning", "InvalidSpec", v.message);
    return {}; // nothing to retry: a spec change wakes us
  }
  const problem = await checkCredentials(ctx, obj, sb);
  if (problem) {
    sb.set(CONDITIONS.ready, "False", "PasswordSecretNotFound", problem);
    sb.status.phase = "Failed";
    sb.observe();
    await ctx.events.emit(obj, "Warning", "PasswordSecretNotFound", problem);
    return { requeueAfterMs: ctx.options.secretRecheckMs }; // Secrets are not watched
  }

  const seen = await applyChildren(ctx, obj, sb);
  const restore = await reconcileRestore(ctx, obj, sb, seen, after);
  const busy = await settleBackupJobs(ctx, obj, sb, after);
  let requeueAfterMs: number | undefined = busy
    ? RECHECK_MS
    : restore === "waiting" && seen.available
    ? 5_000
    : undefined;
  if (seen.available && seen.host && restore !== "running" && restore !== "waiting" && !busy) {
    requeueAfterMs = await maybeStartBackup(ctx, obj, sb, seen.host);
  }
  if (sb.status.lastBackupTime === undefined && sb.status.lastBackupFailure === undefined) {
    sb.set(CONDITIONS.backupReady, "Unknown", "NoBackupYet", "no backup has been taken yet");
  }

  const wasReady = obj.status?.conditions?.find((c) => c.type === CONDITIONS.ready)?.status === "True";
  if (!seen.available) {
    sb.set(
      CONDITIONS.ready,
      "False",
      "MySQLNotReady",
      "waiting for the mysqld Deployment to become available",
    );
    sb.status.phase = "Provisioning";
  } else if (restore === "waiting" || restore === "running") {
    sb.set(CONDITIONS.ready, "False", "Restoring", "restoring the newest backup of this instance");
    sb.status.phase = "Restoring";
  } else if (restore === "failed") {
    sb.set(CONDITIONS.ready, "False", "RestoreFailed", `restore failed: ${sb.status.restore?.message ?? ""}`);
    sb.status.phase = "RestoreFailed";
  } else {
    sb.set(CONDITIONS.ready, "True", "Available", "mysqld is serving");
    sb.status.phase = "Ready";
    if (!wasReady) await ctx.events.emit(obj, "Normal", "Ready", "mysqld is serving");
  }
  sb.observe();
  return { requeueAfterMs };
}

/** Starts a requested or scheduled backup when one is due. Returns when to look again for the schedule. */
async function maybeStartBackup(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder, host: string) {
  const requested = obj.metadata.annotations?.[ANNOTATIONS.backupNow];
  if (requested && requested !== sb.status.backupNowHandled) {
    sb.status.backupNowHandled = requested;
    await startBackup(ctx, obj, "manual", requested, host);
    return RECHECK_MS;
  }
  const schedule = obj.spec.backup?.schedule;
  if (!schedule) return undefined;
  let cron;
  try {
    cron = parseCron(schedule);
  } catch (err) {
    sb.set(CONDITIONS.backupReady, "False", "InvalidSchedule", (err as Error).message);
    return undefined;
  }
  const now = ctx.now();
  const slot = previousSlot(cron, now);
  const created = Date.parse(obj.metadata.creationTimestamp ?? "") || 0;
  const last = Date.parse(sb.status.lastScheduledSlot ?? "") || 0;
  if (slot && slot.getTime() > created && slot.getTime() > last) {
    sb.status.lastScheduledSlot = slot.toISOString();
    await startBackup(ctx, obj, "scheduled", slot.toISOString(), host);
    return RECHECK_MS;
  }
  const next = nextSlot(cron, now);
  return next ? Math.max(1000, next.getTime() - now.getTime() + 500) : undefined;
}

/** The object is being deleted: the final backup must succeed before any data goes. */
async function finalize(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
): Promise<CleanupResult> {
  sb.status.phase = "Deleting";
  const ns = obj.metadata.namespace;
  const names = childNames(objectRef(obj));
  if (obj.metadata.annotations?.[ANNOTATIONS.skipFinalBackup] === "true") {
    await ctx.events.emit(
      obj,
      "Warning",
      "FinalBackupSkipped",
      `${ANNOTATIONS.skipFinalBackup} is set: no final backup`,
    );
    return await deleteData(ctx, obj);
  }
  const hadData = live(ctx, "PersistentVolumeClaim", ns, names.dataPVC) !== undefined;
  if (!hadData) return await deleteData(ctx, obj); // never provisioned: nothing to back up
  const v = validateMySQL(obj);
  if (!v.ok) {
    const msg =
      `cannot take the final backup: ${v.message}; fix the spec or set ${ANNOTATIONS.skipFinalBackup}=true`;
    sb.set(CONDITIONS.ready, "False", "FinalBackupBlocked", msg);
    await ctx.events.emit(obj, "Warning", "FinalBackupBlocked", msg);
    return { done: false };
  }
  const busy = await settleBackupJobs(ctx, obj, sb, after);
  if (sb.status.finalBackupTime) {
    return await deleteData(ctx, obj);
  }
  if (busy) {
    sb.set(CONDITIONS.ready, "False", "FinalBackupRunning", "deleting: the final backup is running");
    return { done: false, requeueAfterMs: RECHECK_MS };
  }
  // mysqld must serve for the dump: keep (or put back) the children while we wait.
  const problem = await checkCredentials(ctx, obj, sb);
  if (problem) {
    const msg =
      `cannot take the final backup: ${problem}; restore it or set ${ANNOTATIONS.skipFinalBackup}=true`;
    sb.set(CONDITIONS.ready, "False", "FinalBackupBlocked", msg);
    await ctx.events.emit(obj, "Warning", "FinalBackupBlocked", msg);
    return { done: false, requeueAfterMs: ctx.options.secretRecheckMs };
  }
  const seen = await applyChildren(ctx, obj, sb);
  if (!seen.available || !seen.host) {
    sb.set(
      CONDITIONS.ready,
      "False",
      "FinalBackupWaiting",
      "deleting: waiting for mysqld to serve the final backup",
    );
    return { done: false, requeueAfterMs: RECHECK_MS };
  }
  const attempts = sb.status.finalBackupAttempts ?? 0;
  if (attempts > 0 && sb.status.lastBackupFailure) {
    const wait = backoffDelay(attempts, ctx.options.finalBackupRetry, () => 1);
    const due = Date.parse(sb.status.lastBackupFailure.time) + wait;
    const remaining = due - ctx.now().getTime();
    if (remaining > 0) {
      sb.set(
        CONDITIONS.ready,
        "False",
        "FinalBackupFailed",
        `deleting: final backup attempt ${attempts} failed (${sb.status.lastBackupFailure.reason}); retrying in ${
          Math.ceil(remaining / 1000)
        }s; the data is kept`,
      );
      return { done: false, requeueAfterMs: remaining };
    }
  }
  const stale = backupJobs(ctx, obj).filter((j) => jobState(j) === "active");
  if (stale.length === 0) await startBackup(ctx, obj, "final", String(attempts), seen.host);
  sb.set(CONDITIONS.ready, "False", "FinalBackupRunning", "deleting: the final backup is running");
  return { done: false, requeueAfterMs: RECHECK_MS };
}

/**
 * The final step: mysqld and its data go. The data PVC and PV are not owned (no garbage collection may take them
 * first), so they are deleted here; mysqld's Deployment, Service and Secret too, since a foreground deletion may
 * have left un-owned copies. The backup PVC stays.
 */
async function deleteData(ctx: ClusterContext, obj: MySQL): Promise<CleanupResult> {
  const ns = obj.metadata.namespace;
  const names = childNames(objectRef(obj));
  await ctx.client.delete(objectPath(RESOURCES.deployment, ns, names.deployment));
  await ctx.client.delete(objectPath(RESOURCES.service, ns, names.service));
  if (obj.spec?.password !== undefined) {
    await ctx.client.delete(objectPath(RESOURCES.secret, ns, names.secret));
  }
  await ctx.client.delete(objectPath(RESOURCES.pvc, ns, names.dataPVC));
  const pv = renderDataPV(obj, ctx.options.render);
  if (pv) await ctx.client.delete(objectPath(RESOURCES.pv, undefined, pv.metadata!.name!));
  ctx.log.info("final step done; removing the finalizer");
  return { done: true };
}

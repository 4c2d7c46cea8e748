/**
 * The password source of an instance: `spec.password` (copied into an owned Secret, flagged as readable) or the
 * user's Secret named by `spec.passwordSecretRef`, which must exist and hold the key before pods can start.
 *
 * @module
 */
import type { MySQL } from "../api/mysql.ts";
import { objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { objectRef, passwordSecretKeyRef } from "../templates/mod.ts";
import { DEFAULT_STORE_KEYS, objectStoreOf } from "../templates/store_env.ts";
import type { ClusterContext } from "./context.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";

/** Checks the password source; returns a problem message when pods could not start. */
export async function checkCredentials(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
): Promise<string | undefined> {
  if (!obj.spec.passwordSecretRef) {
    sb.set(
      CONDITIONS.credentialsSecured,
      "False",
      REASONS.plaintextPassword,
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
    REASONS.secretReference,
    `the password is read from Secret ${ref.name}`,
  );
  return undefined;
}

/**
 * Checks the Secret of `spec.backup.objectStore.credentialsSecretRef` (its keys only; the values are the Jobs'):
 * returns a problem message when a backup or restore Job could not start. Without an object store, none.
 */
export async function checkStoreCredentials(ctx: ClusterContext, obj: MySQL): Promise<string | undefined> {
  const ref = objectStoreOf(obj)?.credentialsSecretRef;
  if (!ref) return undefined;
  const secret = await ctx.client.getOrUndefined(
    objectPath(RESOURCES.secret, obj.metadata.namespace, ref.name),
  );
  const field = "spec.backup.objectStore.credentialsSecretRef";
  if (!secret) return `Secret ${ref.name} named by ${field} does not exist`;
  const keys = [
    ref.accessKeyIdKey ?? DEFAULT_STORE_KEYS.accessKeyId,
    ref.secretAccessKeyKey ?? DEFAULT_STORE_KEYS.secretAccessKey,
  ];
  const missing = keys.filter((k) => !(k in (secret.data ?? {})) && !(k in (secret.stringData ?? {})));
  if (missing.length) {
    return `Secret ${ref.name} (${field}) has no key ${missing.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  return undefined;
}

/**
 * The owned Secret that holds a password given in plain text in `spec.password`, and the Secret key every pod
 * reads the password from.
 *
 * @module
 */
import { DEFAULT_PASSWORD_KEY, type MySQL } from "../api/mysql.ts";
import { childNames } from "./names.ts";
import { childLabels } from "./labels.ts";
import { childMeta, objectRef } from "./owner.ts";
import type { Secret } from "./k8s_types.ts";

/** Key of the password inside the owned Secret. */
export const SECRET_PASSWORD_KEY = "password";

/** Base64 of the UTF-8 bytes of `text` (what a Secret's `data` holds). */
export function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The Secret that carries `spec.password`, or `undefined` when the password comes from `spec.passwordSecretRef`.
 *
 * The value goes to `data` as base64 (not `stringData`): it reads back exactly as written, so comparing the live
 * Secret with the rendered one is a plain equality, and any password (numeric, quotes, newlines) stays a string.
 */
export function renderSecret(mysql: MySQL): Secret | undefined {
  const password = mysql.spec.password;
  if (password === undefined) return undefined;
  const ref = objectRef(mysql);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMeta(mysql, childNames(ref).secret, childLabels(ref, "credentials")),
    type: "Opaque",
    data: { [SECRET_PASSWORD_KEY]: base64Utf8(password) },
  };
}

/**
 * Where pods read the root password: the owned Secret when `spec.password` is set, else `spec.passwordSecretRef`
 * with its key defaulting to `password`.
 */
export function passwordSecretKeyRef(mysql: MySQL): { name: string; key: string } {
  const ref = mysql.spec.passwordSecretRef;
  if (mysql.spec.password === undefined && ref !== undefined) {
    return { name: ref.name, key: ref.key ?? DEFAULT_PASSWORD_KEY };
  }
  return { name: childNames(objectRef(mysql)).secret, key: SECRET_PASSWORD_KEY };
}

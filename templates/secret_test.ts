import { deepStrictEqual, equal, ok, strictEqual } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { childNames } from "./names.ts";
import { passwordSecretKeyRef, renderSecret } from "./secret.ts";
import { mysqlObject } from "./testing.ts";

function decode(base64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}

Deno.test("renderSecret carries spec.password under key password, owned, in the object's namespace", () => {
  const mysql = mysqlObject({ namespace: "team-a" });
  const secret = renderSecret(mysql);
  ok(secret);
  equal(secret.metadata.name, childNames(mysql.metadata).secret);
  equal(secret.metadata.namespace, "team-a");
  equal(secret.type, "Opaque");
  deepStrictEqual(Object.keys(secret.data), ["password"]);
  equal(decode(secret.data.password), "otuspassword");
  equal(secret.metadata.ownerReferences?.[0].uid, mysql.metadata.uid);
});

Deno.test("renderSecret is absent when the password comes from passwordSecretRef", () => {
  equal(renderSecret(mysqlObject({ spec: { passwordSecretRef: { name: "db-root" } } })), undefined);
});

Deno.test("Secret values round-trip exactly through YAML and stay strings", () => {
  for (
    const password of [
      "123456",
      "0123",
      "1e3",
      "true",
      "null",
      "a'b\"c",
      "$(reboot)",
      "two\nlines",
      "pässwörd ✓",
    ]
  ) {
    const secret = renderSecret(mysqlObject({ spec: { password } }));
    ok(secret);
    const back = parse(stringify(secret)) as { data: Record<string, unknown> };
    strictEqual(typeof back.data.password, "string", password);
    equal(decode(back.data.password as string), password);
  }
});

Deno.test("passwordSecretKeyRef points at the owned Secret or at passwordSecretRef with key defaulting", () => {
  const owned = mysqlObject({ name: "db1" });
  deepStrictEqual(passwordSecretKeyRef(owned), { name: childNames(owned.metadata).secret, key: "password" });
  deepStrictEqual(
    passwordSecretKeyRef(mysqlObject({ spec: { passwordSecretRef: { name: "db-root" } } })),
    { name: "db-root", key: "password" },
  );
  deepStrictEqual(
    passwordSecretKeyRef(mysqlObject({ spec: { passwordSecretRef: { name: "db-root", key: "root-pw" } } })),
    { name: "db-root", key: "root-pw" },
  );
});

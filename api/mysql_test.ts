import { deepStrictEqual, equal } from "node:assert/strict";
import { validateMySQL } from "./mysql.ts";
import { SECRET_NAME_MESSAGE, SYSTEM_SCHEMA_MESSAGE } from "./rules.ts";

const spec = { image: "mysql:8.4", database: "app", storage_size: "1Gi" };
const named = (s: Record<string, unknown>) => ({ metadata: { name: "db" }, spec: { ...spec, ...s } });

Deno.test("run-time check: a Secret name that is not a DNS subdomain is refused with the CRD's message", () => {
  for (const name of ["..", ".", "a/b", "Root", "", "a".repeat(254), "-a"]) {
    const v = validateMySQL(named({ passwordSecretRef: { name } }));
    equal(v.ok, false, JSON.stringify(name));
    if (!v.ok) equal(v.message, SECRET_NAME_MESSAGE, JSON.stringify(name));
  }
  for (const name of ["db-root", "db-root.v2", "a", "a".repeat(253)]) {
    equal(validateMySQL(named({ passwordSecretRef: { name } })).ok, true, name);
  }
});

Deno.test("run-time check: system schemas are refused in any case, with the CRD's message", () => {
  for (const database of ["mysql", "MySQL", "sys", "information_schema", "PERFORMANCE_SCHEMA"]) {
    deepStrictEqual(validateMySQL(named({ database, password: "x" })), {
      ok: false,
      message: SYSTEM_SCHEMA_MESSAGE,
    });
  }
  for (const database of ["mysql_app", "sysdb", "app"]) {
    equal(validateMySQL(named({ database, password: "x" })).ok, true, database);
  }
});

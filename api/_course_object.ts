/**
 * Test helper (not product code): the course's example object, as deploy/mysql-instance.yaml holds it, and
 * variants of it, for the tests of the schema (api/crd_test.ts) and of the API server's validation
 * (tests/crd_server_test.ts).
 *
 * @module
 */

/** The course's example object, as deploy/mysql-instance.yaml must hold it. */
export const COURSE = {
  apiVersion: "otus.homework/v1",
  kind: "MySQL",
  metadata: { name: "mysql-instance" },
  spec: { image: "mysql:5.7", database: "otus-database", password: "otuspassword", storage_size: "1Gi" },
};

/** The course object with `spec` fields replaced (`undefined` removes one), another name, and a namespace if given. */
export function variant(
  spec: Record<string, unknown>,
  name = "mysql-instance",
  namespace?: string,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...COURSE.spec, ...spec };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return { ...COURSE, metadata: namespace ? { name, namespace } : { name }, spec: merged };
}

/**
 * The CustomResourceDefinition of `mysqls.otus.homework`, as data. The schemas of `spec` and `status` are generated
 * from the zod schemas the reconciler and the types use (api/spec_schema.ts, api/status_schema.ts), the CEL rules
 * with them; this module adds the object's root (the name rule), the names and the printer columns. api/gen_crd.ts
 * writes it to deploy/crd.yaml and api/crd_test.ts keeps the two equal.
 *
 * Every string has a `maxLength` so the API server can bound the cost of the CEL rules.
 *
 * @module
 */
import { z } from "zod";
import { GROUP, KIND, PLURAL, VERSION } from "./mysql.ts";
import { NAME_MESSAGE, NAME_RULE } from "./rules.ts";
import { mysqlSpecSchema } from "./spec_schema.ts";
import { mysqlStatusSchema } from "./status_schema.ts";

type Schema = Record<string, unknown>;

/**
 * The OpenAPI v3 schema of a zod schema, as a structural schema of a CRD: what zod adds for its own integers (the
 * safe-integer range) is left out; everything else comes from the zod checks and the `meta` the schema carries.
 */
export function openAPISchema(schema: z.ZodType): Schema {
  return z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    override: ({ jsonSchema }) => {
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  }) as Schema;
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function mysqlCRD(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: "mysql", shortNames: ["ms"] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: "Phase", type: "string", jsonPath: ".status.phase" },
          { name: "Storage", type: "string", jsonPath: ".spec.storage_size" },
          { name: "Last backup", type: "date", jsonPath: ".status.lastBackupTime" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: {
          openAPIV3Schema: {
            type: "object",
            description: "A MySQL instance managed by mysql-operator.",
            required: ["spec"],
            "x-kubernetes-validations": [{
              rule: NAME_RULE,
              message: NAME_MESSAGE,
              // Reported at metadata.name instead of the object root.
              fieldPath: ".metadata.name",
            }],
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object", properties: { name: { type: "string", maxLength: 253 } } },
              spec: openAPISchema(mysqlSpecSchema),
              status: openAPISchema(mysqlStatusSchema),
            },
          },
        },
      }],
    },
  };
}

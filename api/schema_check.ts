/**
 * An offline checker of objects against the CRD's structural schema, for unit tests: it covers the OpenAPI
 * keywords api/crd.ts uses and mirrors each CEL rule with a JavaScript equivalent. It rejects unknown fields, as
 * `kubectl apply` (strict field validation) does. The API server stays the authority: the integration tests apply
 * the real CRD.
 *
 * @module
 */

import { isPositiveQuantity } from "./rules.ts";

export { isPositiveQuantity };

type Schema = Record<string, unknown>;

/** JavaScript mirrors of the CEL rules, keyed by rule text (a rule without a mirror is reported as an error). */
const CEL_MIRRORS: Record<string, (self: unknown) => boolean> = {};

/** Registers the mirror of a CEL rule. */
export function mirrorRule(rule: string, check: (self: unknown) => boolean): void {
  CEL_MIRRORS[rule] = check;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Every violation of `schema` by `value`, as `path: message` lines; empty when the value is valid. */
export function checkSchema(schema: Schema, value: unknown, path = ""): string[] {
  const errors: string[] = [];
  const at = path === "" ? "<root>" : path;
  const actual = typeOf(value);
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (actual !== "integer" && actual !== "string") errors.push(`${at}: must be an integer or a string`);
  } else if (schema.type !== undefined && schema.type !== actual) {
    return [`${at}: must be of type ${schema.type}, got ${actual}`];
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      errors.push(`${at}: shorter than ${schema.minLength}`);
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      errors.push(`${at}: longer than ${schema.maxLength}`);
    }
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) {
      errors.push(`${at}: should match '${schema.pattern}'`);
    }
    if (schema.format === "date-time" && !RFC3339.test(value)) {
      errors.push(`${at}: not an RFC 3339 date-time`);
    }
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      errors.push(`${at}: below ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      errors.push(`${at}: above ${schema.maximum}`);
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${at}: not one of ${schema.enum}`);
  }
  if (actual === "array") {
    const items = value as unknown[];
    if (typeof schema.maxItems === "number" && items.length > schema.maxItems) {
      errors.push(`${at}: too many items`);
    }
    items.forEach((item, i) => errors.push(...checkSchema(schema.items as Schema, item, `${path}[${i}]`)));
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) {
      if (object[key] === undefined) errors.push(`${path === "" ? "" : path + "."}${key}: Required value`);
    }
    if (typeof schema.maxProperties === "number" && Object.keys(object).length > schema.maxProperties) {
      errors.push(`${at}: too many properties`);
    }
    for (const [key, child] of Object.entries(object)) {
      if (child === undefined) continue; // absent, as in JSON
      const childPath = path === "" ? key : `${path}.${key}`;
      const childSchema = properties[key] ?? (schema.additionalProperties as Schema | undefined);
      if (childSchema !== undefined) errors.push(...checkSchema(childSchema, child, childPath));
      // ObjectMeta is validated by the API server itself; the schema only narrows metadata.name.
      else if (schema.properties !== undefined && path !== "metadata") {
        errors.push(`${childPath}: unknown field`);
      }
    }
  }
  // Like the API server, CEL rules run only on values that passed the schema.
  if (errors.length > 0) return errors;
  for (const rule of (schema["x-kubernetes-validations"] ?? []) as { rule: string; message: string }[]) {
    const mirror = CEL_MIRRORS[rule.rule];
    if (mirror === undefined) errors.push(`${at}: no mirror for CEL rule ${rule.rule}`);
    else if (!mirror(value)) errors.push(`${at}: ${rule.message}`);
  }
  return errors;
}

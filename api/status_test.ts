import { deepStrictEqual, ok } from "node:assert/strict";
import { CONDITIONS, PHASES, REASONS } from "./status.ts";
import { mysqlCRD } from "./crd.ts";

const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

Deno.test("the README's status section lists exactly the phases and condition types the operator writes", () => {
  const phases = readme.match(/Status: `phase` \(([^)]*)\)/)?.[1].split(", ");
  deepStrictEqual(phases, Object.values(PHASES));
  const conditions = readme.match(/conditions ((?:`\w+`(?:,\s)?)+) with stable reasons/)?.[1].match(/\w+/g);
  deepStrictEqual(conditions, Object.values(CONDITIONS));
});

Deno.test("the CRD's phase description names every phase", () => {
  // deno-lint-ignore no-explicit-any
  const crd = mysqlCRD() as any;
  const description: string = crd.spec.versions[0].schema.openAPIV3Schema.properties.status.properties.phase
    .description;
  for (const phase of Object.values(PHASES)) ok(description.includes(phase), phase);
});

Deno.test("reasons are distinct and fit the CRD's reason pattern (a status write with another one fails)", () => {
  const values = Object.values(REASONS);
  deepStrictEqual(new Set(values).size, values.length);
  for (const r of values) ok(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(r), r);
});

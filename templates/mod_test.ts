import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { API_VERSION, KIND, MAX_NAME_LENGTH } from "../api/mysql.ts";
import {
  base64Utf8,
  DEFAULT_RENDER_OPTIONS,
  ownerReference,
  renderBackupPVC,
  renderDataPVC,
  type RenderedObject,
} from "./mod.ts";
import { identity, mysqlObject, renderAll, serializedWithoutSecretData } from "./testing.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

Deno.test("rendering is deterministic", () => {
  const a = renderAll(mysqlObject({ namespace: "ns1", name: "db" }));
  const b = renderAll(mysqlObject({ namespace: "ns1", name: "db" }));
  deepStrictEqual(a, b);
  equal(JSON.stringify(a), JSON.stringify(b));
});

Deno.test("namespaced children live in the object's namespace; PVs are cluster-scoped", () => {
  for (const o of renderAll(mysqlObject({ namespace: "team-b" }))) {
    if (o.kind === "PersistentVolume") equal(o.metadata.namespace, undefined, identity(o));
    else equal(o.metadata.namespace, "team-b", identity(o));
  }
});

Deno.test("every child is owned by the MySQL object except the volumes (no garbage collection takes data)", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db", uid: "uid-7" });
  const backupPVC = identity(renderBackupPVC(mysql, DEFAULT_RENDER_OPTIONS));
  const dataPVC = identity(renderDataPVC(mysql, DEFAULT_RENDER_OPTIONS));
  const objects = renderAll(mysql);
  equal(new Set(objects.map((o) => o.kind)).size, 6, "Secret, PV, PVC, Deployment, Service, Job");
  for (const o of objects) {
    if (o.kind === "PersistentVolume" || identity(o) === backupPVC || identity(o) === dataPVC) {
      equal(o.metadata.ownerReferences, undefined, identity(o));
    } else {
      deepStrictEqual(o.metadata.ownerReferences, [ownerReference(mysql)], identity(o));
    }
  }
  deepStrictEqual(ownerReference(mysql), {
    apiVersion: API_VERSION,
    kind: KIND,
    name: "db",
    uid: "uid-7",
    controller: true,
    blockOwnerDeletion: true,
  });
});

Deno.test("`x` and `x-backup` in one namespace share no child and select no pod of each other", () => {
  const x = renderAll(mysqlObject({ name: "x", uid: "u1" }));
  const xb = renderAll(mysqlObject({ name: "x-backup", uid: "u2" }));
  const xIds = new Set(x.map(identity));
  for (const o of xb) ok(!xIds.has(identity(o)), identity(o));
  const podLabels = (objects: RenderedObject[]) =>
    objects.flatMap((o) => {
      const template = (o as { spec?: { template?: { metadata: { labels: Record<string, string> } } } }).spec
        ?.template;
      return template ? [template.metadata.labels] : [];
    });
  const selectors = (objects: RenderedObject[]) =>
    objects.flatMap((o) => {
      const spec = (o as { spec?: { selector?: Record<string, unknown> } }).spec;
      const selector = spec?.selector;
      if (selector === undefined) return [];
      return [(selector.matchLabels ?? selector) as Record<string, string>];
    });
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const [own, other] of [[x, xb], [xb, x]]) {
    for (const selector of selectors(own)) {
      ok(podLabels(own).some((labels) => matches(selector, labels)), "selects its own pod");
      for (const labels of podLabels(other)) ok(!matches(selector, labels), "selects a foreign pod");
    }
  }
});

Deno.test("a name of the maximum length gives valid child names and label values", () => {
  const name = "a".repeat(MAX_NAME_LENGTH - 1) + "z";
  for (const o of renderAll(mysqlObject({ name, namespace: "n".repeat(63) }))) {
    // PersistentVolume names are DNS subdomains (253); every other kind here needs a DNS label (63).
    const max = o.kind === "PersistentVolume" ? 253 : 63;
    ok(o.metadata.name.length <= max && DNS_LABEL.test(o.metadata.name), identity(o));
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      ok(v.length <= 63 && LABEL_VALUE.test(v), k);
    }
  }
});

Deno.test("passwords appear nowhere but in the Secret payload (JSON and YAML, every object)", () => {
  const passwords = ["123456", "a'b\"c", "$(reboot)", "first-Line\nsecond-Line", "`id`;x=1 && reboot"];
  for (const password of passwords) {
    const objects = renderAll(
      mysqlObject({ uid: "c0ffee00-0000-4000-8000-000000000001", spec: { password } }),
    );
    const needles = [
      password,
      JSON.stringify(password).slice(1, -1),
      base64Utf8(password),
      ...password.split("\n").filter((line) => line.length >= 4),
    ];
    for (const o of objects) {
      for (const text of serializedWithoutSecretData(o)) {
        for (const needle of needles) {
          ok(!text.includes(needle), `${JSON.stringify(needle)} in ${identity(o)}`);
        }
      }
    }
    const secrets = objects.filter((o) => o.kind === "Secret");
    equal(secrets.length, 1);
    ok(JSON.stringify(secrets[0]).includes(base64Utf8(password)), "the Secret does carry it");
  }
});

Deno.test("the search for a leaked password can fail: a planted copy is found", () => {
  const objects = renderAll(mysqlObject({ spec: { password: "$(reboot)" } }));
  const deployment = structuredClone(objects.find((o) => o.kind === "Deployment")!);
  deployment.metadata.annotations = { leak: "$(reboot)" };
  ok(serializedWithoutSecretData(deployment).every((text) => text.includes("$(reboot)")));
});

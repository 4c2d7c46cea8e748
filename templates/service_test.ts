import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { childNames } from "./names.ts";
import { selectorLabels } from "./labels.ts";
import { renderService } from "./service.ts";
import { renderDeployment } from "./deployment.ts";
import { DEFAULT_RENDER_OPTIONS } from "./options.ts";
import { mysqlObject } from "./testing.ts";

Deno.test("Service: ClusterIP (not headless), port 3306 named mysql, selects the mysqld pod", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const s = renderService(mysql);
  equal(s.metadata.name, childNames(mysql.metadata).service);
  equal(s.metadata.namespace, "ns1");
  equal(s.spec.type, "ClusterIP");
  ok(!("clusterIP" in s.spec));
  deepStrictEqual(s.spec.ports, [{ name: "mysql", port: 3306, targetPort: 3306, protocol: "TCP" }]);
  deepStrictEqual(s.spec.selector, selectorLabels(mysql.metadata));
  const d = renderDeployment(mysql, DEFAULT_RENDER_OPTIONS);
  const podLabels = d.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(s.spec.selector)) equal(podLabels[k], v, k);
  equal(d.spec.template.spec.containers[0].ports?.[0].containerPort, s.spec.ports[0].targetPort);
});

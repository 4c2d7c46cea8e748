import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { childNames } from "./names.ts";
import { childLabels, selectorLabels } from "./labels.ts";
import { PING_COMMAND, renderDeployment } from "./deployment.ts";
import { DEFAULT_RENDER_OPTIONS } from "./options.ts";
import { mysqlObject } from "./testing.ts";

const opts = DEFAULT_RENDER_OPTIONS;

Deno.test("Deployment: one replica, Recreate, selector is a subset of the pod labels", () => {
  const mysql = mysqlObject({ namespace: "ns1", name: "db" });
  const d = renderDeployment(mysql, opts);
  equal(d.metadata.name, childNames(mysql.metadata).deployment);
  equal(d.metadata.namespace, "ns1");
  equal(d.spec.replicas, 1);
  deepStrictEqual(d.spec.strategy, { type: "Recreate" });
  deepStrictEqual(d.spec.selector.matchLabels, selectorLabels(mysql.metadata));
  const podLabels = d.spec.template.metadata.labels;
  deepStrictEqual(podLabels, childLabels(mysql.metadata, "database"));
  for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) equal(podLabels[k], v, k);
});

Deno.test("mysqld container: image, no args or command, password only by secretKeyRef, port, datadir subPath", () => {
  const mysql = mysqlObject({ spec: { image: "mysql:8.4", database: "shop" } });
  const d = renderDeployment(mysql, opts);
  const [c] = d.spec.template.spec.containers;
  equal(d.spec.template.spec.containers.length, 1);
  equal(c.name, "mysql");
  equal(c.image, "mysql:8.4");
  ok(!("args" in c) && !("command" in c));
  ok(!JSON.stringify(d).includes("ignore-db-dir"));
  deepStrictEqual(c.env, [
    {
      name: "MYSQL_ROOT_PASSWORD",
      valueFrom: { secretKeyRef: { name: childNames(mysql.metadata).secret, key: "password" } },
    },
    { name: "MYSQL_DATABASE", value: "shop" },
  ]);
  deepStrictEqual(c.ports, [{ name: "mysql", containerPort: 3306, protocol: "TCP" }]);
  deepStrictEqual(c.volumeMounts, [{ name: "data", mountPath: "/var/lib/mysql", subPath: "mysql" }]);
  deepStrictEqual(d.spec.template.spec.volumes, [
    { name: "data", persistentVolumeClaim: { claimName: childNames(mysql.metadata).dataPVC } },
  ]);
  equal(d.spec.template.spec.enableServiceLinks, false);
});

Deno.test("passwordSecretRef flows into MYSQL_ROOT_PASSWORD", () => {
  const d = renderDeployment(mysqlObject({ spec: { passwordSecretRef: { name: "root", key: "pw" } } }), opts);
  deepStrictEqual(d.spec.template.spec.containers[0].env[0], {
    name: "MYSQL_ROOT_PASSWORD",
    valueFrom: { secretKeyRef: { name: "root", key: "pw" } },
  });
});

Deno.test("probes: constant password-free TCP ping; startup allows a slow first start; liveness is gated by it", () => {
  const [c] = renderDeployment(mysqlObject({ spec: { password: "s3cret-probe" } }), opts).spec.template.spec
    .containers;
  const expected = [
    "sh",
    "-c",
    "mysqladmin ping -h 127.0.0.1 --silent 2>/dev/null || mariadb-admin ping -h 127.0.0.1 --silent",
  ];
  deepStrictEqual([...PING_COMMAND], expected);
  for (const probe of [c.readinessProbe, c.startupProbe, c.livenessProbe]) {
    ok(probe);
    deepStrictEqual(probe.exec.command, expected);
    ok(!JSON.stringify(probe).includes("s3cret-probe"));
    ok(probe.timeoutSeconds >= 5, "exec probes need more than the 1 s default on a busy node");
  }
  const startup = c.startupProbe!;
  ok(startup.periodSeconds * startup.failureThreshold >= 15 * 60, "startup window of at least 15 minutes");
  const liveness = c.livenessProbe!;
  ok(liveness.periodSeconds * liveness.failureThreshold >= 60, "liveness tolerates a minute without answer");
});

Deno.test("resources come from spec.resources (copied, not shared) and imagePullPolicy from the options", () => {
  const resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } };
  const mysql = mysqlObject({ spec: { resources } });
  const [c] = renderDeployment(mysql, { ...opts, imagePullPolicy: "Never" }).spec.template.spec.containers;
  deepStrictEqual(c.resources, resources);
  ok(c.resources?.requests !== resources.requests);
  equal(c.imagePullPolicy, "Never");
  const [plain] = renderDeployment(mysqlObject(), opts).spec.template.spec.containers;
  ok(!("resources" in plain) && !("imagePullPolicy" in plain));
});

Deno.test("nodeSelector of the options reaches the pod", () => {
  const d = renderDeployment(mysqlObject(), { ...opts, nodeSelector: { "kubernetes.io/hostname": "real" } });
  deepStrictEqual(d.spec.template.spec.nodeSelector, { "kubernetes.io/hostname": "real" });
  ok(!("nodeSelector" in renderDeployment(mysqlObject(), opts).spec.template.spec));
});

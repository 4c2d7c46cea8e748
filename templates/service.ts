/**
 * The ClusterIP Service in front of mysqld.
 *
 * @module
 */
import type { MySQL } from "../api/mysql.ts";
import { childNames } from "./names.ts";
import { childLabels, selectorLabels } from "./labels.ts";
import { childMeta, objectRef } from "./owner.ts";
import { MYSQL_PORT } from "./deployment.ts";
import type { Service } from "./k8s_types.ts";

/**
 * A ClusterIP Service (not headless: Jobs connect to its stable ClusterIP, which needs no cluster DNS), port 3306
 * named `mysql`, selecting the mysqld pod.
 */
export function renderService(mysql: MySQL): Service {
  const ref = objectRef(mysql);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(mysql, childNames(ref).service, childLabels(ref, "database")),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(ref),
      ports: [{ name: "mysql", port: MYSQL_PORT, targetPort: MYSQL_PORT, protocol: "TCP" }],
    },
  };
}

/**
 * The mysqld Deployment of an instance.
 *
 * @module
 */
import type { MySQL } from "../api/mysql.ts";
import { childNames } from "./names.ts";
import { childLabels, selectorLabels } from "./labels.ts";
import { childMeta, objectRef } from "./owner.ts";
import { passwordSecretKeyRef } from "./secret.ts";
import { podSpecDefaults } from "./pod.ts";
import type { RenderOptions } from "./options.ts";
import type { Container, Deployment, Probe } from "./k8s_types.ts";

/** Port of mysqld in the container and on the Service. */
export const MYSQL_PORT = 3306;
/** Name of the mysqld container. */
export const MYSQL_CONTAINER = "mysql";
/** Where the data volume is mounted: the datadir of the official mysql and mariadb images. */
export const DATA_MOUNT_PATH = "/var/lib/mysql";
/**
 * Sub-directory of the data volume used as the datadir: a fresh filesystem's `lost+found` then never sits in the
 * datadir (which breaks the image's first-start initialisation; the course's `--ignore-db-dir` is gone in mysql 8).
 */
export const DATA_SUB_PATH = "mysql";

/**
 * Health check that needs no password (a ping that gets "access denied" still proves mysqld answers). It uses
 * TCP on purpose: the official images run their first-start initialisation on a socket-only server, so the pod is
 * not Ready before initialisation is over. mysql images ship `mysqladmin`, newer mariadb ones `mariadb-admin`.
 */
export const PING_COMMAND: readonly string[] = Object.freeze([
  "sh",
  "-c",
  "mysqladmin ping -h 127.0.0.1 --silent 2>/dev/null || mariadb-admin ping -h 127.0.0.1 --silent",
]);

function probe(periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Probe {
  return { exec: { command: [...PING_COMMAND] }, periodSeconds, timeoutSeconds, failureThreshold };
}

/**
 * The Deployment: one replica, strategy Recreate (two mysqld never share one datadir), the password only through
 * a Secret key reference, no container args.
 *
 * Probes: the startup probe allows 30 minutes (a first start initialises the datadir and must never be killed for
 * being slow); liveness takes over after it and restarts mysqld only after two minutes without an answer;
 * readiness gates the Service.
 */
export function renderDeployment(mysql: MySQL, opts: RenderOptions): Deployment {
  const ref = objectRef(mysql);
  const names = childNames(ref);
  const container: Container = {
    name: MYSQL_CONTAINER,
    image: mysql.spec.image,
    env: [
      { name: "MYSQL_ROOT_PASSWORD", valueFrom: { secretKeyRef: passwordSecretKeyRef(mysql) } },
      { name: "MYSQL_DATABASE", value: mysql.spec.database },
    ],
    ports: [{ name: "mysql", containerPort: MYSQL_PORT, protocol: "TCP" }],
    volumeMounts: [{ name: "data", mountPath: DATA_MOUNT_PATH, subPath: DATA_SUB_PATH }],
    readinessProbe: probe(2, 5, 3),
    startupProbe: probe(2, 5, 900),
    livenessProbe: probe(20, 10, 6),
  };
  const resources = mysql.spec.resources;
  if (resources?.requests !== undefined || resources?.limits !== undefined) {
    container.resources = {};
    if (resources.requests !== undefined) container.resources.requests = { ...resources.requests };
    if (resources.limits !== undefined) container.resources.limits = { ...resources.limits };
  }
  if (opts.imagePullPolicy !== undefined) container.imagePullPolicy = opts.imagePullPolicy;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMeta(mysql, names.deployment, childLabels(ref, "database")),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      strategy: { type: "Recreate" },
      selector: { matchLabels: selectorLabels(ref) },
      template: {
        metadata: { labels: childLabels(ref, "database") },
        spec: {
          ...podSpecDefaults(opts),
          // InnoDB may need more than the default 30 s to shut down cleanly.
          terminationGracePeriodSeconds: 60,
          containers: [container],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: names.dataPVC } }],
        },
      },
    },
  };
}

/**
 * Minimal local shapes of the Kubernetes objects the renderers produce: only the fields this operator sets.
 *
 * They are plain data (what server-side apply sends), deliberately not the classes of `@kubernetes/client-node`, so
 * the renderers stay pure and their output serializes to JSON or YAML unchanged.
 *
 * @module
 */

/** `metav1.OwnerReference`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The parts of `metav1.ObjectMeta` the renderers set. */
export interface ObjectMeta {
  name: string;
  /** Absent on cluster-scoped objects (PersistentVolumes). */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/**
 * Any rendered object: the desired state the operator sends. What the API server returns is the runtime's
 * `KubeObject` (runtime/kube/client.ts), a superset of every rendered shape; a rendered object is always a valid
 * `KubeObject`, so the two meet only at the client, where desired is written and live is read.
 */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** `core/v1` Secret. */
export interface Secret extends RenderedObject {
  apiVersion: "v1";
  kind: "Secret";
  type: string;
  /** Base64 of the UTF-8 bytes of each value. */
  data: Record<string, string>;
}

/** `core/v1` PersistentVolume (hostPath only). */
export interface PersistentVolume extends RenderedObject {
  apiVersion: "v1";
  kind: "PersistentVolume";
  spec: {
    capacity: { storage: string };
    accessModes: string[];
    /** Pre-binding to the one claim that may use the volume (no UID: the PV controller fills it in). */
    claimRef?: { apiVersion: "v1"; kind: "PersistentVolumeClaim"; namespace: string; name: string };
    persistentVolumeReclaimPolicy: "Retain" | "Delete";
    storageClassName: string;
    volumeMode: "Filesystem";
    hostPath: { path: string; type: string };
  };
}

/** `core/v1` PersistentVolumeClaim. */
export interface PersistentVolumeClaim extends RenderedObject {
  apiVersion: "v1";
  kind: "PersistentVolumeClaim";
  spec: {
    accessModes: string[];
    resources: { requests: { storage: string } };
    storageClassName: string;
    volumeMode: "Filesystem";
    volumeName?: string;
  };
}

/** `core/v1` EnvVar: a literal value, a Secret key reference or a field of the pod (downward API). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } } | { fieldRef: { fieldPath: string } };
}

/** `core/v1` Probe (exec only). */
export interface Probe {
  exec: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold?: number;
}

/** `core/v1` Container. */
export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  command?: string[];
  args?: string[];
  env: EnvVar[];
  ports?: { name: string; containerPort: number; protocol: "TCP" }[];
  volumeMounts: { name: string; mountPath: string; subPath?: string }[];
  readinessProbe?: Probe;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  /** Quantities: strings, or integers (the CRD accepts int-or-string like core/v1 does). */
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  terminationMessagePath?: string;
  terminationMessagePolicy?: "File" | "FallbackToLogsOnError";
}

/** `core/v1` PodSpec (the fields this operator sets). */
export interface PodSpec {
  restartPolicy?: "Always" | "Never" | "OnFailure";
  enableServiceLinks: boolean;
  automountServiceAccountToken: boolean;
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  containers: Container[];
  volumes: { name: string; persistentVolumeClaim: { claimName: string } }[];
}

/** `core/v1` PodTemplateSpec. */
export interface PodTemplateSpec {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

/** `apps/v1` Deployment. */
export interface Deployment extends RenderedObject {
  apiVersion: "apps/v1";
  kind: "Deployment";
  spec: {
    replicas: number;
    revisionHistoryLimit: number;
    strategy: { type: "Recreate" };
    selector: { matchLabels: Record<string, string> };
    template: PodTemplateSpec;
  };
}

/** `core/v1` Service (ClusterIP). */
export interface Service extends RenderedObject {
  apiVersion: "v1";
  kind: "Service";
  spec: {
    type: "ClusterIP";
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number | string; protocol: "TCP" }[];
  };
}

/** `batch/v1` Job. */
export interface Job extends RenderedObject {
  apiVersion: "batch/v1";
  kind: "Job";
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    ttlSecondsAfterFinished: number;
    template: PodTemplateSpec;
  };
}

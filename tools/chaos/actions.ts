/**
 * What users do in the chaos run, done to a cluster as they would do it (the admin's client, straight to the API
 * server): create, delete, break and fix the backup image, edit the spec, ask for a backup, delete or edit
 * children by hand, relabel the data claim as a GitOps tool adopting it would, create another app's objects under
 * the operator's child names first, delete a namespace with instances in it. Every action's outcome is recorded
 * (a refusal is a fact of the run, not an error of it).
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../../api/resource.ts";
import { ANNOTATIONS, API_VERSION, KIND } from "../../api/mysql.ts";
import { isStatus, type KubeClient, type KubeObject } from "../../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../../runtime/kube/resources.ts";
import { childNames } from "../../templates/names.ts";
import { APP_LABELS } from "../../templates/labels.ts";
import { FAILING_BACKUP_IMAGE, IMAGES, type UserOp } from "./schedule.ts";
import { fingerprint, type ForeignObject } from "./invariants.ts";
import { idOf } from "./recorder.ts";

const MANAGER = "chaos-user";

/** A MySQL object as the run creates it (the course's example, an image the edits switch from). */
export function chaosMySQL(namespace: string, name: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: { image: IMAGES[0], database: "chaos", password: "chaos-password", storage_size: "1Gi" },
  };
}

/** The other app's objects that hold an instance's child names (Deployment, Service, credentials Secret). */
export function foreignObjects(
  namespace: string,
  name: string,
): Array<{ resource: ForeignObject["resource"]; body: KubeObject }> {
  const names = childNames({ namespace, name });
  const labels = { app: `theirs-${name}`, "app.kubernetes.io/managed-by": "someone-else" };
  return [
    {
      resource: "deployments",
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: names.deployment, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: `theirs-${name}` } },
          template: {
            metadata: { labels: { app: `theirs-${name}` } },
            spec: { containers: [{ name: "app", image: "their/app:1" }] },
          },
        },
      },
    },
    {
      resource: "services",
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: names.service, namespace, labels },
        spec: { selector: { app: `theirs-${name}` }, ports: [{ port: 8080 }] },
      },
    },
    {
      resource: "secrets",
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: names.secret, namespace, labels },
        stringData: { token: "theirs" },
      },
    },
  ];
}

/** Failures users (and kubectl, and GitOps tools) retry: no answer at all, the server's own errors, throttling. */
export function transient(err: unknown): boolean {
  const status = (err as { status?: number }).status;
  return !status || status >= 500 || status === 429;
}

/** An action's outcome for the counts: the HTTP status, or the error's name when there was no answer. */
function outcome(err: unknown): string {
  const status = (err as { status?: number }).status;
  return status ? String(status) : (err as Error).name || "error";
}

const RESOURCE_OF = {
  deployments: RESOURCES.deployment,
  services: RESOURCES.service,
  secrets: RESOURCES.secret,
};

/** Does users' actions to one cluster. */
export class UserActions {
  /** Objects of other apps the run created, as created. */
  readonly foreign: ForeignObject[] = [];
  /** Outcome counts per action (`create: ok`, `delete: 404` …). */
  readonly outcomes = new Map<string, number>();

  constructor(
    readonly cluster: string,
    readonly client: KubeClient,
    /** Called for each object created: its UID and when the create that made it was sent (ms, run clock). */
    readonly onCreated: (namespace: string, name: string, uid: string, sentAt: number) => void,
    readonly now: () => number,
  ) {}

  #count(op: string, outcome: string): void {
    const key = `${op}: ${outcome}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  /** Does `fn`, trying again every 2 s while it fails for a reason users retry (see {@linkcode transient}). */
  async #try(op: string, fn: () => Promise<unknown>, patienceMs = 90_000): Promise<boolean> {
    const deadline = performance.now() + patienceMs;
    for (;;) {
      try {
        await fn();
        this.#count(op, "ok");
        return true;
      } catch (err) {
        if (!transient(err) || performance.now() > deadline) {
          this.#count(op, outcome(err));
          return false;
        }
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /**
   * Creates a MySQL object as a user or a GitOps tool would: asks again while the API server does not answer,
   * and while an earlier incarnation of the name is still being deleted (409 and the object has a deletion
   * timestamp), for up to `patienceMs`.
   */
  async create(namespace: string, name: string, patienceMs = 300_000): Promise<void> {
    const deadline = performance.now() + patienceMs;
    const path = objectPath(MYSQL_RESOURCE, namespace, name);
    for (;;) {
      const sentAt = this.now();
      try {
        const made = await this.client.create(
          collectionPath(MYSQL_RESOURCE, namespace),
          chaosMySQL(namespace, name),
          MANAGER,
        );
        this.onCreated(namespace, name, idOf(made).uid, sentAt);
        this.#count("create", "ok");
        return;
      } catch (err) {
        let again = transient(err);
        if (isStatus(err, 409)) {
          const old = await this.client.getOrUndefined(path).catch(() => undefined);
          // Not being deleted: an earlier create whose answer was lost made it (or a delete never happened).
          if (old && !old.metadata?.deletionTimestamp) {
            this.#count("create", "exists");
            return;
          }
          again = true;
        }
        if (!again || performance.now() > deadline) {
          this.#count("create", outcome(err));
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /** Does one scheduled action (`at`: its time in the schedule, used as the backup-now token). */
  async run(namespace: string, name: string, action: UserOp, at: number): Promise<void> {
    const path = objectPath(MYSQL_RESOURCE, namespace, name);
    const names = childNames({ namespace, name });
    const spec = (s: unknown) => this.client.mergePatch(path, { spec: s }, MANAGER);
    switch (action.op) {
      case "create":
        return await this.create(namespace, name);
      case "create-after-foreign":
        for (const f of foreignObjects(namespace, name)) {
          await this.#try("create foreign", async () => {
            const made = await this.client.create(
              collectionPath(RESOURCE_OF[f.resource], namespace),
              f.body,
              MANAGER,
            );
            this.foreign.push({
              cluster: this.cluster,
              resource: f.resource,
              namespace,
              name: idOf(made).name,
              uid: idOf(made).uid,
              fingerprint: fingerprint(made),
            });
          });
        }
        return await this.create(namespace, name);
      case "delete":
        await this.#try("delete", () => this.client.request("DELETE", path, {}, "delete"));
        return;
      case "break-backup":
        await this.#try("break-backup", () => spec({ backup: { image: FAILING_BACKUP_IMAGE } }));
        return;
      case "fix-backup":
        await this.#try("fix-backup", () => spec({ backup: { image: null } }));
        return;
      case "edit-image":
        await this.#try("edit-image", () => spec({ image: action.image }));
        return;
      case "edit-resources":
        await this.#try("edit-resources", () => spec({ resources: { requests: { cpu: action.cpu } } }));
        return;
      case "backup-now":
        await this.#try(
          "backup-now",
          () =>
            this.client.mergePatch(path, {
              metadata: { annotations: { [ANNOTATIONS.backupNow]: `chaos-${at}` } },
            }, MANAGER),
        );
        return;
      case "delete-child": {
        const r = {
          deployment: RESOURCES.deployment,
          service: RESOURCES.service,
          secret: RESOURCES.secret,
        }[action.child];
        await this.#try(
          `delete ${action.child}`,
          () => this.client.request("DELETE", objectPath(r, namespace, names[action.child]), {}, "delete"),
        );
        return;
      }
      case "edit-child":
        if (action.child === "deployment") {
          await this.#try(
            "edit deployment",
            () =>
              this.client.mergePatch(objectPath(RESOURCES.deployment, namespace, names.deployment), {
                spec: { replicas: 0 },
              }, MANAGER),
          );
        } else {
          await this.#try(
            "edit service",
            () =>
              this.client.mergePatch(objectPath(RESOURCES.service, namespace, names.service), {
                spec: { selector: { app: "elsewhere" } },
              }, MANAGER),
          );
        }
        return;
      case "relabel-claim":
        await this.#try("relabel-claim", () =>
          this.client.mergePatch(
            objectPath(RESOURCES.pvc, namespace, names.dataPVC),
            { metadata: { labels: { [APP_LABELS.managedBy]: "argocd" } } },
            MANAGER,
          ));
        return;
    }
  }

  /** Deletes a namespace (with whatever is in it). */
  async deleteNamespace(namespace: string): Promise<void> {
    await this.#try(
      "delete namespace",
      () =>
        this.client.request("DELETE", objectPath(RESOURCES.namespace, undefined, namespace), {}, "delete"),
    );
  }

  /** The foreign objects as they are now (missing ones left out). */
  async foreignNow(): Promise<ForeignObject[]> {
    const out: ForeignObject[] = [];
    for (const f of this.foreign) {
      const obj = await this.client.getOrUndefined(objectPath(RESOURCE_OF[f.resource], f.namespace, f.name));
      if (obj) out.push({ ...f, uid: idOf(obj).uid, fingerprint: fingerprint(obj) });
    }
    return out;
  }
}

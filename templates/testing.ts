/**
 * Fixtures for the unit tests of the renderers (not used by the operator).
 *
 * @module
 */
import { stringify } from "yaml";
import { API_VERSION, type MySQL, type MySQLSpec } from "../api/mysql.ts";
import { backupJobName } from "./names.ts";
import {
  renderBackupJob,
  renderBackupPV,
  renderBackupPVC,
  renderDataPV,
  renderDataPVC,
  renderDeployment,
  type RenderedObject,
  renderRestoreJob,
  renderSecret,
  renderService,
} from "./mod.ts";
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from "./options.ts";

/** The course's example spec. */
export const COURSE_SPEC: MySQLSpec = {
  image: "mysql:5.7",
  database: "otus-database",
  password: "otuspassword",
  storage_size: "1Gi",
};

/** A MySQL object as the API server returns it; `spec` replaces the course spec's fields it names. */
export function mysqlObject(
  { namespace = "default", name = "mysql-instance", uid = "0b7c3e4a-1111-4a2b-9c3d-5e6f7a8b9c0d", spec = {} }:
    {
      namespace?: string;
      name?: string;
      uid?: string;
      spec?: Partial<MySQLSpec>;
    } = {},
): MySQL {
  const merged: MySQLSpec = { ...COURSE_SPEC, ...spec };
  if (spec.passwordSecretRef !== undefined && !("password" in spec)) delete merged.password;
  return {
    apiVersion: API_VERSION,
    kind: "MySQL",
    metadata: { name, namespace, uid, generation: 1 },
    spec: merged,
  };
}

/** Service ClusterIP the Jobs get in tests. */
export const TEST_HOST = "10.96.12.34";

/** Every object the renderers make for one MySQL object (undefined ones left out), with Jobs of every reason. */
export function renderAll(mysql: MySQL, opts: RenderOptions = DEFAULT_RENDER_OPTIONS): RenderedObject[] {
  const jobs = (["final", "scheduled", "manual", "migrate"] as const).map((reason) =>
    renderBackupJob(
      mysql,
      { jobName: backupJobName(mysql.metadata, reason, "token"), reason, host: TEST_HOST },
      opts,
    )
  );
  return [
    renderSecret(mysql),
    renderDataPV(mysql, opts),
    renderDataPVC(mysql, opts),
    renderBackupPV(mysql, opts),
    renderBackupPVC(mysql, opts),
    renderDeployment(mysql, opts),
    renderService(mysql),
    renderRestoreJob(mysql, { host: TEST_HOST }, opts),
    ...jobs,
  ].filter((o): o is NonNullable<typeof o> => o !== undefined);
}

/** `Kind/name` of an object, the identity that must be unique among children of one namespace. */
export function identity(o: RenderedObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/** JSON and YAML text of an object, with the Secret payload removed (the only place a password may appear). */
export function serializedWithoutSecretData(o: RenderedObject): string[] {
  const copy = structuredClone(o) as RenderedObject & { data?: unknown; stringData?: unknown };
  if (copy.kind === "Secret") {
    delete copy.data;
    delete copy.stringData;
  }
  return [JSON.stringify(copy), JSON.stringify(copy, null, 2), stringify(copy)];
}

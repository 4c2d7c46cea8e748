/**
 * Client certificates of the real node's components, signed with openssl by the cluster's own CA (kwokctl keeps
 * it in `<clusterDir>/pki/ca.{crt,key}`), and the kubeconfigs that use them.
 *
 * @module
 */
import { parse } from "yaml";
import { exists, run } from "./host.ts";

/** A client identity: the certificate's subject. */
export interface Identity {
  /** File stem under the pki directory. */
  file: string;
  commonName: string;
  organization?: string;
}

/** True when `crt` is signed by `caCrt`, has the expected subject, and is valid for at least another day. */
async function certUsable(crt: string, caCrt: string, id: Identity): Promise<boolean> {
  if (!(await exists(crt)) || !(await exists(crt.replace(/\.crt$/, ".key")))) return false;
  const verify = await run("openssl", ["verify", "-CAfile", caCrt, crt], { check: false });
  if (verify.code !== 0) return false;
  const end = await run("openssl", ["x509", "-in", crt, "-noout", "-checkend", "86400"], { check: false });
  if (end.code !== 0) return false;
  const subject =
    (await run("openssl", ["x509", "-in", crt, "-noout", "-subject", "-nameopt", "RFC2253"])).stdout;
  const want = [`CN=${id.commonName}`, ...(id.organization ? [`O=${id.organization}`] : [])];
  return want.every((w) => subject.includes(w));
}

/**
 * Makes `<pkiDir>/<file>.{crt,key}` for `id` unless a usable one exists (a re-created cluster has a new CA, so
 * old certificates are replaced). Returns whether a new certificate was written.
 */
export async function ensureClientCert(pkiDir: string, clusterDir: string, id: Identity): Promise<boolean> {
  const caCrt = `${clusterDir}/pki/ca.crt`;
  const caKey = `${clusterDir}/pki/ca.key`;
  const crt = `${pkiDir}/${id.file}.crt`;
  const key = `${pkiDir}/${id.file}.key`;
  if (await certUsable(crt, caCrt, id)) return false;
  for (const f of [caCrt, caKey]) if (!(await exists(f))) throw new Error(`cluster CA file ${f} is missing`);
  await Deno.mkdir(pkiDir, { recursive: true, mode: 0o700 });
  const subject = `${id.organization ? `/O=${id.organization}` : ""}/CN=${id.commonName}`;
  const ext = `${pkiDir}/${id.file}.ext`;
  await Deno.writeTextFile(
    ext,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=clientAuth\n",
  );
  try {
    await run("openssl", [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-subj",
      subject,
      "-out",
      `${pkiDir}/${id.file}.csr`,
    ]);
    await Deno.chmod(key, 0o600);
    const serial = `0x${
      Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    // -set_serial: no ca.srl is written next to the cluster's CA (that directory belongs to kwokctl).
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      `${pkiDir}/${id.file}.csr`,
      "-CA",
      caCrt,
      "-CAkey",
      caKey,
      "-set_serial",
      serial,
      "-days",
      "365",
      "-extfile",
      ext,
      "-out",
      crt,
    ]);
  } finally {
    await Deno.remove(`${pkiDir}/${id.file}.csr`).catch(() => {});
    await Deno.remove(ext).catch(() => {});
  }
  return true;
}

/** The API server URL of `context` in the kubeconfig file `path`. */
export async function apiServerUrl(path: string, context: string): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const kc = parse(await Deno.readTextFile(path)) as any;
  const ctx = (kc?.contexts ?? []).find((c: { name: string }) => c.name === context);
  if (!ctx) throw new Error(`context ${context} is not in ${path}`);
  const cluster = (kc?.clusters ?? []).find((c: { name: string }) => c.name === ctx.context?.cluster);
  const server = cluster?.cluster?.server;
  if (typeof server !== "string") throw new Error(`context ${context} in ${path} has no cluster server`);
  return server;
}

/** A kubeconfig (JSON is valid YAML) for one identity, certificates by path. */
export function kubeconfigFor(server: string, caCrt: string, crt: string, key: string, user: string): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "cluster", cluster: { server, "certificate-authority": caCrt } }],
      users: [{ name: user, user: { "client-certificate": crt, "client-key": key } }],
      contexts: [{ name: "default", context: { cluster: "cluster", user } }],
      "current-context": "default",
    },
    null,
    2,
  ) + "\n";
}

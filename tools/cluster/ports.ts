/**
 * The cluster tool assigns every cluster's ports itself. kwokctl would pick ports that are free at creation, and a
 * stopped cluster's ports are free: a cluster created while another was stopped could be given the same ports, and
 * the stopped one could then never start again. Here each cluster's six ports are recorded in `ports.json` in the
 * workdir (stopped clusters included) under the tool's lock, never handed out twice, and checked before a start.
 *
 * Ports come from below the kernel's ephemeral range (an outgoing connection may take any port inside it) and
 * below the NodePort range (30000-32767).
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { clusterDir, type ClusterPaths } from "./paths.ts";

/** The ports kwokctl's binary runtime listens on for one cluster (`KwokctlConfiguration.options` keys). */
export interface ClusterPorts {
  /** etcd client port. */
  etcdPort: number;
  /** etcd peer port. */
  etcdPeerPort: number;
  /** kube-apiserver secure port (the cluster's URL). */
  kubeApiserverPort: number;
  /** kube-controller-manager secure port. */
  kubeControllerManagerPort: number;
  /** kube-scheduler secure port. */
  kubeSchedulerPort: number;
  /** kwok-controller port. */
  kwokControllerPort: number;
}

/** The keys of {@link ClusterPorts}, with the component that listens on each. */
export const PORT_COMPONENTS: Readonly<Record<keyof ClusterPorts, string>> = {
  etcdPort: "etcd",
  etcdPeerPort: "etcd",
  kubeApiserverPort: "kube-apiserver",
  kubeControllerManagerPort: "kube-controller-manager",
  kubeSchedulerPort: "kube-scheduler",
  kwokControllerPort: "kwok-controller",
};

const KEYS = Object.keys(PORT_COMPONENTS) as (keyof ClusterPorts)[];

/** Highest port handed out: just below the NodePort range. */
export const PORT_CEILING = 29_999;
/** Lowest port handed out. */
export const PORT_FLOOR = 20_000;

/** The record file: `{ "<cluster>": ClusterPorts }`. */
function recordFile(paths: ClusterPaths): string {
  return `${paths.workdir}/ports.json`;
}

/** Every port of a record, as numbers. */
export function portsOf(p: ClusterPorts): number[] {
  return KEYS.map((k) => p[k]);
}

/**
 * Picks six ports, highest first, from [floor, ceiling]: none of `taken`, none inside `ephemeral` (inclusive), and
 * each one `isFree` says can be bound now. Pure apart from `isFree`.
 */
export function pickPorts(
  taken: ReadonlySet<number>,
  isFree: (port: number) => boolean,
  ephemeral: readonly [number, number] | undefined,
  floor = PORT_FLOOR,
  ceiling = PORT_CEILING,
): ClusterPorts {
  const picked: number[] = [];
  for (let p = ceiling; p >= floor && picked.length < KEYS.length; p--) {
    if (taken.has(p) || (ephemeral && p >= ephemeral[0] && p <= ephemeral[1])) continue;
    if (isFree(p)) picked.push(p);
  }
  if (picked.length < KEYS.length) {
    throw new Error(`no ${KEYS.length} free ports left between ${floor} and ${ceiling}`);
  }
  return Object.fromEntries(KEYS.map((k, i) => [k, picked[i]])) as unknown as ClusterPorts;
}

/** Whether a TCP port can be bound on 127.0.0.1 right now (the clusters bind there only). */
export function portFree(port: number): boolean {
  // Whether a process listens on it, from the kernel's socket tables (the same question the cluster tool's stop
  // waits on); a bind test where they cannot be read.
  const listening = listeningPorts();
  if (listening) return !listening.has(port);
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return false;
    throw e;
  }
}

/** Ports some socket listens on (TCP over IPv4 and IPv6), from /proc/net; undefined where that cannot be read. */
export function listeningPorts(): Set<number> | undefined {
  const out = new Set<number>();
  let read = false;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address "ADDR:PORT" (hex), f[3] state: 0A is LISTEN.
      if (f.length > 3 && f[3] === "0A") out.add(parseInt(f[1].split(":").pop()!, 16));
    }
  }
  return read ? out : undefined;
}

/** The kernel's ephemeral port range, when it can be read. */
export function ephemeralRange(): [number, number] | undefined {
  try {
    const [lo, hi] = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/).map(
      Number,
    );
    return Number.isInteger(lo) && Number.isInteger(hi) ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}

/** The ports kwokctl saved in a cluster's `kwok.yaml` (clusters created before the record existed). */
async function savedPorts(paths: ClusterPaths, name: string): Promise<ClusterPorts | undefined> {
  const text = await Deno.readTextFile(`${clusterDir(paths, name)}/kwok.yaml`).catch(() => undefined);
  if (text === undefined) return undefined;
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; options?: Record<string, unknown> } | null;
    if (o?.kind !== "KwokctlConfiguration") continue;
    const ports = Object.fromEntries(KEYS.map((k) => [k, Number(o.options?.[k] ?? 0)]));
    return KEYS.every((k) => ports[k] > 0) ? ports as unknown as ClusterPorts : undefined;
  }
  return undefined;
}

/** Reads the record (an absent file is an empty record). */
export async function readPortRecord(paths: ClusterPaths): Promise<Record<string, ClusterPorts>> {
  try {
    return JSON.parse(await Deno.readTextFile(recordFile(paths)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new Error(`${recordFile(paths)} is unreadable: ${e instanceof Error ? e.message : e}`);
  }
}

async function writePortRecord(paths: ClusterPaths, record: Record<string, ClusterPorts>): Promise<void> {
  await Deno.mkdir(paths.workdir, { recursive: true });
  const tmp = `${recordFile(paths)}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(record, null, 2) + "\n");
  await Deno.rename(tmp, recordFile(paths));
}

/**
 * The record brought up to date with the workdir (call under the cluster lock): clusters that exist but are not
 * recorded (made by an older version of the tool) are added from their `kwok.yaml`.
 */
async function currentRecord(paths: ClusterPaths, existing: string[]): Promise<Record<string, ClusterPorts>> {
  const record = await readPortRecord(paths);
  for (const name of existing) {
    if (record[name]) continue;
    const saved = await savedPorts(paths, name);
    if (saved) record[name] = saved;
  }
  return record;
}

/**
 * Returns the ports of cluster `name`, assigning and recording new ones when it has none (call under the cluster
 * lock). `existing` names every cluster in the workdir, so that their ports are never handed out again.
 */
export async function assignPorts(
  paths: ClusterPaths,
  name: string,
  existing: string[],
): Promise<ClusterPorts> {
  const record = await currentRecord(paths, existing);
  // Clusters removed behind the tool's back (kwokctl delete, rm -rf) give their ports back.
  for (const n of Object.keys(record)) if (n !== name && !existing.includes(n)) delete record[n];
  // A cluster about to be created keeps recorded ports only while they are all free (a retry after a port clash).
  if (record[name] && !existing.includes(name) && !portsOf(record[name]).every(portFree)) delete record[name];
  if (!record[name]) {
    const taken = new Set(Object.entries(record).filter(([n]) => n !== name).flatMap(([, p]) => portsOf(p)));
    record[name] = pickPorts(taken, portFree, ephemeralRange());
  }
  await writePortRecord(paths, record);
  return record[name];
}

/** Forgets cluster `name`'s ports after it was deleted (call under the cluster lock). */
export async function releasePorts(paths: ClusterPaths, name: string): Promise<void> {
  const record = await readPortRecord(paths);
  if (!(name in record)) return;
  delete record[name];
  await writePortRecord(paths, record);
}

/**
 * Throws a clear error when a port of one of `components` (the ones about to be started) of cluster `name` is
 * held by something else, naming the port, the component and, when it is one, the cluster that records it.
 */
export async function checkPortsFree(paths: ClusterPaths, name: string, components: string[]): Promise<void> {
  const record = await readPortRecord(paths);
  const mine = record[name] ?? await savedPorts(paths, name);
  if (!mine) return;
  for (const key of KEYS) {
    const component = PORT_COMPONENTS[key];
    if (!components.includes(component) || portFree(mine[key])) continue;
    const other = Object.entries(record).find(([n, p]) => n !== name && portsOf(p).includes(mine[key]))?.[0];
    throw new Error(
      `cluster ${name}: port ${mine[key]} (${component}) is held by ${
        other ? `cluster ${other}` : "another process"
      }; free it (\`ss -ltnp 'sport = :${mine[key]}'\` shows who holds it) and start the cluster again`,
    );
  }
}

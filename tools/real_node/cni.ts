/**
 * The pod network of the real node: a CNI bridge conflist, and the clean-up of what the bridge plugin added to
 * the host when a pod was not torn down through CNI (bridge, veths, network namespaces, iptables rules).
 *
 * @module
 */
import { run } from "./host.ts";
import { BRIDGE, CNI_DATA_DIR, CNI_NETWORK, POD_CIDR, POD_GATEWAY } from "./paths.ts";

/**
 * bridge + host-local + portmap. `hairpinMode` lets a pod reach itself through its Service's ClusterIP; it must
 * not be combined with `promiscMode` (the plugin rejects both).
 */
export function cniConflist(): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: POD_CIDR }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: CNI_DATA_DIR,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  ) + "\n";
}

/**
 * Throws when POD_CIDR overlaps a route the host already has on another interface than our bridge (another
 * container runtime, a VPN): pods would be unreachable or break the host's own traffic.
 */
export async function checkPodCidrFree(): Promise<void> {
  const routes = (await run("ip", ["-4", "route", "show"])).stdout.split("\n");
  const prefix = POD_CIDR.split(".").slice(0, 2).join(".") + ".";
  for (const r of routes) {
    const [dst] = r.split(" ");
    if (dst?.startsWith(prefix) && !r.includes(`dev ${BRIDGE} `)) {
      throw new Error(`the pod range ${POD_CIDR} is already routed on this host: ${r}`);
    }
  }
}

/** Whether our bridge exists. */
export async function bridgeExists(): Promise<boolean> {
  return (await run("ip", ["link", "show", BRIDGE], { check: false })).code === 0;
}

/**
 * Makes the bridge with its gateway address now, before any pod exists: the bridge plugin would make it only at
 * the first pod, and the host may need the address earlier (a test listening on it for pods to reach). The plugin
 * accepts a bridge that already carries its gateway address.
 */
export async function ensureBridge(): Promise<void> {
  if (!(await bridgeExists())) await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  const prefix = POD_CIDR.split("/")[1];
  const addrs = (await run("ip", ["-4", "-o", "addr", "show", "dev", BRIDGE])).stdout;
  if (!addrs.includes(` ${POD_GATEWAY}/${prefix} `)) {
    await run("ip", ["addr", "add", `${POD_GATEWAY}/${prefix}`, "dev", BRIDGE]);
  }
  await run("ip", ["link", "set", BRIDGE, "up"]);
}

/**
 * Removes the iptables rules and chains the bridge plugin made for our network (its rules carry the comment
 * `name: "mysql-operator" id: "<container>"`), in case a pod's CNI DEL never ran.
 */
export async function removeCniIptables(): Promise<void> {
  const list = await run("iptables", ["-t", "nat", "-L", "POSTROUTING", "-n", "--line-numbers"], {
    check: false,
  });
  const doomed: { num: number; chain: string }[] = [];
  for (const line of list.stdout.split("\n")) {
    const m = line.match(/^(\d+)\s+(CNI-[0-9a-f]+)\s.*name: "([^"]*)"/);
    if (m && m[3] === CNI_NETWORK) doomed.push({ num: Number(m[1]), chain: m[2] });
  }
  // Highest rule number first, so the numbers of the rules still to delete do not shift.
  for (const d of doomed.sort((a, b) => b.num - a.num)) {
    await run("iptables", ["-t", "nat", "-D", "POSTROUTING", String(d.num)], { check: false });
    await run("iptables", ["-t", "nat", "-F", d.chain], { check: false });
    await run("iptables", ["-t", "nat", "-X", d.chain], { check: false });
  }
}

/**
 * Deletes the network namespaces containerd created for our pods (`/run/netns/cni-*` holding an address of
 * POD_CIDR) when their sandbox was never stopped: the pod's veth goes with its namespace.
 */
export async function removePodNetns(): Promise<void> {
  const prefix = POD_CIDR.split(".").slice(0, 2).join(".") + ".";
  let names: string[] = [];
  try {
    for await (const e of Deno.readDir("/run/netns")) if (e.name.startsWith("cni-")) names.push(e.name);
  } catch {
    names = [];
  }
  for (const n of names) {
    const addrs = await run("ip", ["-n", n, "-4", "-o", "addr", "show"], { check: false });
    if (addrs.stdout.includes(` ${prefix}`)) await run("ip", ["netns", "del", n], { check: false });
  }
}

/** Deletes the bridge (veths of pods went with their network namespaces). */
export async function removeBridge(): Promise<void> {
  if (await bridgeExists()) await run("ip", ["link", "del", BRIDGE], { check: false });
}

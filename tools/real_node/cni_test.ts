import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { cniConflist } from "./cni.ts";
import { BRIDGE, CNI_DATA_DIR, CNI_NETWORK, POD_CIDR } from "./paths.ts";

Deno.test("cniConflist: bridge with hairpin and masquerade, never promiscMode, IPAM state in our dir", () => {
  const conf = JSON.parse(cniConflist());
  equal(conf.name, CNI_NETWORK);
  deepStrictEqual(conf.plugins.map((p: { type: string }) => p.type), ["bridge", "portmap"]);
  const bridge = conf.plugins[0];
  equal(bridge.bridge, BRIDGE);
  equal(bridge.hairpinMode, true);
  equal(bridge.isGateway, true);
  equal(bridge.ipMasq, true);
  // hairpinMode together with promiscMode is rejected by the bridge plugin.
  ok(!("promiscMode" in bridge));
  equal(bridge.ipam.type, "host-local");
  deepStrictEqual(bridge.ipam.ranges, [[{ subnet: POD_CIDR }]]);
  equal(bridge.ipam.dataDir, CNI_DATA_DIR);
});

import { equal, ok } from "node:assert/strict";
import { containerdConfig } from "./containerd.ts";
import { CONTAINERD_ROOT, CONTAINERD_SOCKET, CONTAINERD_STATE } from "./paths.ts";

Deno.test("containerdConfig: the CRI settings this kind of machine needs", () => {
  const text = containerdConfig({ sandboxImage: "localhost/mysql-operator/pause:abc", cniConfDir: "/s/cni" });
  const has = (line: string) => ok(text.split("\n").some((l) => l.trim() === line), `missing: ${line}`);
  has("version = 2");
  has(`root = "${CONTAINERD_ROOT}"`);
  has(`state = "${CONTAINERD_STATE}"`);
  has(`address = "${CONTAINERD_SOCKET}"`);
  has('sandbox_image = "localhost/mysql-operator/pause:abc"');
  has("SystemdCgroup = false");
  has("disable_hugetlb_controller = true");
  // Without it every sandbox fails on a VM lacking CAP_SYS_RESOURCE.
  has("restrict_oom_score_adj = true");
  has('bin_dir = "/usr/lib/cni"');
  has('conf_dir = "/s/cni"');
  equal(text.includes("systemd_cgroup = true"), false);
});

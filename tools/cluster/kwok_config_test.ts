import { parseAllDocuments } from "yaml";
import { assert, assertEquals } from "../../tests/_assert.ts";
import { componentsPatches, renderKwokConfig } from "./kwok_config.ts";
import type { ClusterPaths } from "./paths.ts";

const paths: ClusterPaths = {
  cache: "/c",
  k8s: "/c/k8s",
  etcd: "/c/etcd",
  kwok: "/c/kwok-bin",
  bin: "/c/bin",
  workdir: "/c/kwok",
  kubeconfig: "/c/kubeconfig.yaml",
  lock: "/c/clusters.lock",
};

function argsOf(name: string, kcmQps?: number): Record<string, string> {
  const p = componentsPatches({ clusterDir: "/c/kwok/clusters/x", kcmQps }).find((c) => c.name === name);
  return Object.fromEntries((p?.extraArgs ?? []).map((a) => [a.key, a.value]));
}

Deno.test("every cluster gets the flags a real kubelet and fast outage recovery need", () => {
  assertEquals(argsOf("kube-scheduler"), {
    "leader-elect": "false",
    "pod-max-in-unschedulable-pods-duration": "15s",
  });
  // A bounded write-ahead log to replay at each start (tests/cluster_ports_test.ts sees it on the process).
  assertEquals(argsOf("etcd"), { "snapshot-count": "200" });
  assertEquals(argsOf("kube-controller-manager"), {
    "leader-elect": "false",
    "pvclaimbinder-sync-period": "2s",
  });
  assertEquals(argsOf("kwok-controller"), {
    "manage-all-nodes": "false",
    "manage-nodes-with-annotation-selector": "kwok.x-k8s.io/node=fake",
  });
  assertEquals(argsOf("kube-apiserver"), {
    "kubelet-client-certificate": "/c/kwok/clusters/x/pki/admin.crt",
    "kubelet-client-key": "/c/kwok/clusters/x/pki/admin.key",
    "kubelet-preferred-address-types": "InternalIP,Hostname",
    "service-cluster-ip-range": "10.96.0.0/16",
    "audit-log-maxsize": "64",
    "audit-log-maxbackup": "1",
  });
});

Deno.test("--kcm-qps sets the controller manager's client qps and burst", () => {
  const kcm = argsOf("kube-controller-manager", 200);
  assertEquals([kcm["kube-api-qps"], kcm["kube-api-burst"]], ["200", "300"]);
});

Deno.test("the config names every binary, binds to loopback and carries the default stages plus ours", async () => {
  const docs = parseAllDocuments(await renderKwokConfig(paths, { clusterDir: "/c/kwok/clusters/x" }))
    .map((d) => d.toJS());
  assert(docs.every((d) => d !== null), "an empty document would confuse kwokctl");
  const [conf, ...stages] = docs;
  assertEquals(conf.kind, "KwokctlConfiguration");
  assertEquals(conf.options.bindAddress, "127.0.0.1");
  for (
    const k of ["kubeApiserverBinary", "kubeControllerManagerBinary", "kubeSchedulerBinary", "kubectlBinary"]
  ) {
    assert(conf.options[k].startsWith("/c/k8s/"), k);
  }
  assertEquals([conf.options.etcdBinary, conf.options.etcdctlBinary], ["/c/etcd/etcd", "/c/etcd/etcdctl"]);
  assertEquals(conf.options.kwokControllerBinary, "/c/kwok-bin/kwok");
  assertEquals(stages.map((s) => s.metadata.name).sort(), [
    "node-heartbeat",
    "node-initialize",
    "pod-complete",
    "pod-complete-backup",
    "pod-complete-restore",
    "pod-delete",
    "pod-fail-invalid-image",
    "pod-ready",
  ]);
  const fail = stages.find((s) => s.metadata.name === "pod-fail-invalid-image");
  // It must out-weigh pod-complete (weight 0) for Running Job pods.
  assert(fail.spec.weight > 0);
  // Its report names the Job like the scripts' reports do (the operator ignores reports of other Jobs).
  assert(fail.spec.next.statusTemplate.includes('"jobUid" $uid'), "the failure report carries the Job's UID");
  assertEquals(stages.find((s) => s.metadata.name === "pod-complete").spec.weight, undefined);
});

Deno.test("backup pods on fake nodes complete with a BackedUp report of their own Job, except fail.invalid/ images", async () => {
  const docs = parseAllDocuments(await renderKwokConfig(paths, { clusterDir: "/c/kwok/clusters/x" }))
    .map((d) => d.toJS());
  const stage = docs.find((s) => s.metadata?.name === "pod-complete-backup");
  // It must out-weigh pod-complete (weight 0) for Running backup pods.
  assert(stage.spec.weight > 0);
  const exprs: Array<{ key: string; operator: string; values?: string[] }> =
    stage.spec.selector.matchExpressions;
  const byKey = (k: string) => exprs.find((e) => e.key === k);
  assertEquals(byKey('.metadata.labels["app.kubernetes.io/component"]'), {
    key: '.metadata.labels["app.kubernetes.io/component"]',
    operator: "In",
    values: ["backup"],
  });
  // pod-fail-invalid-image must stay the only positive-weight stage for fail.invalid/ images.
  assertEquals(byKey('.spec.containers[0].image | startswith("fail.invalid/")')?.operator, "NotIn");
  const tpl: string = stage.spec.next.statusTemplate;
  assert(
    tpl.includes('index .metadata.labels "batch.kubernetes.io/controller-uid"'),
    "jobUid from the pod's label",
  );
  for (
    const field of [
      '"result" "BackedUp"',
      '"jobUid" $uid',
      '"readOnly" true',
      '"sha256" $sha',
      "phase: Succeeded",
    ]
  ) {
    assert(tpl.includes(field), field);
  }
});

Deno.test("restore pods on fake nodes complete with a Restored report of their own Job, except fail.invalid/ images", async () => {
  const docs = parseAllDocuments(await renderKwokConfig(paths, { clusterDir: "/c/kwok/clusters/x" }))
    .map((d) => d.toJS());
  const stage = docs.find((s) => s.metadata?.name === "pod-complete-restore");
  assert(stage.spec.weight > 0, "out-weighs pod-complete for Running restore pods");
  const exprs: Array<{ key: string; operator: string; values?: string[] }> =
    stage.spec.selector.matchExpressions;
  const byKey = (k: string) => exprs.find((e) => e.key === k);
  assertEquals(byKey('.metadata.labels["app.kubernetes.io/component"]')?.values, ["restore"]);
  assertEquals(byKey('.spec.containers[0].image | startswith("fail.invalid/")')?.operator, "NotIn");
  const tpl: string = stage.spec.next.statusTemplate;
  for (const field of ['"result" "Restored"', '"jobUid" $uid', "phase: Succeeded"]) {
    assert(tpl.includes(field), field);
  }
});

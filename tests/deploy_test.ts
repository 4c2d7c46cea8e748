/**
 * What ships: deploy/ (through kustomize, as `kubectl apply -k deploy/` sees it), the Dockerfile (which cannot be
 * built here: no Docker engine, no registry) and `deno task compile` (whose runtime, denort, cannot be downloaded
 * here). Their invariants are checked against the code they must agree with: the permission flags
 * (cli/permissions.ts), the run flags (cli/args.ts), the resources the operator touches
 * (runtime/kube/resources.ts) and the pinned Deno.
 */
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { relative } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { DENO } from "./_operator.ts";
import {
  OPERATOR_DENO_FLAGS,
  OPERATOR_ENV,
  OPERATOR_FLAGS,
  OPERATOR_PERMISSIONS,
  OPERATOR_V8_FLAGS,
} from "../cli/permissions.ts";
import { parse as parseFlags, RUN_FLAGS } from "../cli/args.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { ensureBinaries } from "../tools/cluster/binaries.ts";
import { compileArgs, ENTRY_POINT } from "../tools/compile.ts";
import { ENTRYPOINT as IMAGE_ENTRYPOINT } from "../tools/images/operator/build.ts";
import denoJson from "../deno.json" with { type: "json" };
import packageJson from "../package.json" with { type: "json" };

const ROOT = new URL("..", import.meta.url).pathname;
/** The project's kubectl (built with the cluster binaries on a fresh machine). */
const KUBECTL = `${(await ensureBinaries()).k8s}/kubectl`;

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

async function run(cmd: string, args: string[], env: Record<string, string> = {}, clearEnv = false) {
  const out = await new Deno.Command(cmd, { args, cwd: ROOT, env, clearEnv, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `kubectl kustomize DIR`: the objects `kubectl apply -k DIR` would apply. */
async function kustomize(dir: string): Promise<Obj[]> {
  const r = await run(KUBECTL, ["kustomize", dir]);
  assertEquals(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
}

const built = await kustomize(`${ROOT}deploy`);
const one = (kind: string, name?: string) => {
  const found = built.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  assertEquals(found.length, 1, `one ${kind} ${name ?? ""} in deploy/`);
  return found[0];
};
const deployment = one("Deployment", "mysql-operator");
const container = deployment.spec.template.spec.containers[0];

Deno.test("kubectl apply -k deploy/ installs the CRD, namespace, identity, RBAC, Deployment; not the example", () => {
  assertEquals(
    built.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    [
      "ClusterRole/mysql-operator",
      "ClusterRoleBinding/mysql-operator",
      "CustomResourceDefinition/mysqls.otus.homework",
      "Deployment/mysql-operator",
      "Namespace/mysql-operator",
      "PodDisruptionBudget/mysql-operator",
      "Role/mysql-operator-leader-election",
      "RoleBinding/mysql-operator-leader-election",
      "Service/mysql-operator-metrics",
      "ServiceAccount/mysql-operator",
    ],
  );
  const namespaced = built.filter((o) => !["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind))
    .filter((o) => o.kind !== "CustomResourceDefinition");
  for (const o of namespaced) assertEquals(o.metadata.namespace, "mysql-operator", `${o.kind} namespace`);
  // The CRD is deploy/crd.yaml itself (generated), and the course example stays out (users apply it).
  assertEquals(one("CustomResourceDefinition"), parseYaml(Deno.readTextFileSync(`${ROOT}deploy/crd.yaml`)));
  assert(!built.some((o) => o.kind === "MySQL"), "the example object is not installed");
  assertEquals(
    container.image,
    `mysql-operator:${denoJson.version}`,
    "the image tag is the operator's version",
  );
});

Deno.test("the Deployment: 2 replicas with a Lease, probes, resources, hardened, args the CLI accepts", () => {
  const pod = deployment.spec.template.spec;
  assertEquals(deployment.spec.replicas, 2);
  assertEquals(pod.serviceAccountName, one("ServiceAccount").metadata.name);
  assertEquals(container.args, ["run", "--in-cluster", "--log-format", "json", "--http-addr", ":8080"]);
  // The args parse with run's flags; leader election is on (no --no-leader-elect).
  const flags = parseFlags(container.args.slice(1), RUN_FLAGS);
  assertEquals(flags["no-leader-elect"], undefined);
  assertEquals(container.env, [
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  ]);
  const port = container.ports.find((p: Obj) => p.name === "http");
  assertEquals(port.containerPort, Number(String(flags["http-addr"]).split(":").at(-1)));
  assertEquals(container.livenessProbe.httpGet, { path: "/healthz", port: "http" });
  assertEquals(container.readinessProbe.httpGet, { path: "/readyz", port: "http" });
  assert(container.resources.requests.cpu && container.resources.requests.memory, "requests");
  assert(container.resources.limits.memory, "memory limit");
  assertEquals(pod.securityContext.runAsNonRoot, true);
  assert(pod.securityContext.runAsUser > 0, "a non-root uid");
  assertEquals(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
  assertEquals(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  assertEquals(
    pod.hostNetwork,
    undefined,
    "deploy/ uses the pod network (the test overlay changes nothing here)",
  );
  const ns = one("Namespace");
  assertEquals(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
});

Deno.test("RBAC: no wildcards, one rule per resource, every resource the operator touches, leases by Role", () => {
  const cr = one("ClusterRole");
  const role = one("Role");
  for (const rule of [...cr.rules, ...role.rules]) {
    for (const field of ["apiGroups", "resources", "verbs"]) {
      assert(!rule[field].includes("*"), `no wildcard in ${JSON.stringify(rule)}`);
    }
    assertEquals(rule.resources.length, 1, `one resource per rule: ${JSON.stringify(rule)}`);
  }
  const granted = (rules: Obj[], group: string, resource: string) =>
    rules.find((r) => r.apiGroups.includes(group) && r.resources.includes(resource))?.verbs as
      | string[]
      | undefined;
  for (const [key, r] of [...Object.entries(RESOURCES), ["mysql", MYSQL_RESOURCE] as const]) {
    const rules = key === "lease" ? role.rules : cr.rules;
    assert(granted(rules, r.group, r.plural), `${r.plural}.${r.group || "core"} is granted`);
  }
  assertEquals(granted(role.rules, "coordination.k8s.io", "leases"), ["get", "list", "create", "update"]);
  assertEquals(role.metadata.namespace, "mysql-operator", "leases only in the operator's namespace");
  for (const b of [one("ClusterRoleBinding"), one("RoleBinding")]) {
    assertEquals(b.subjects, [{
      kind: "ServiceAccount",
      name: "mysql-operator",
      namespace: "mysql-operator",
    }]);
  }
  assertEquals(one("ClusterRoleBinding").roleRef.name, cr.metadata.name);
  assertEquals(one("RoleBinding").roleRef.name, role.metadata.name);
});

Deno.test("the remote-clusters example is a valid patch: kubeconfig from a Secret next to --in-cluster", async () => {
  const dir = await Deno.makeTempDir({ prefix: "remote-overlay-" });
  try {
    await Deno.copyFile(`${ROOT}deploy/remote-clusters.example.yaml`, `${dir}/remote.yaml`);
    await Deno.writeTextFile(
      `${dir}/kustomization.yaml`,
      JSON.stringify({ resources: [relative(dir, `${ROOT}deploy`)], patches: [{ path: "remote.yaml" }] }),
    );
    const dep = (await kustomize(dir)).find((o) => o.kind === "Deployment")!;
    const c = dep.spec.template.spec.containers[0];
    const flags = parseFlags(c.args.slice(1), RUN_FLAGS);
    assertEquals(flags["in-cluster"], true);
    assertEquals(flags["all-contexts"], true);
    const mount = c.volumeMounts.find((m: Obj) => String(flags.kubeconfig).startsWith(m.mountPath + "/"));
    assert(mount?.readOnly, "the kubeconfig comes from a read-only mount");
    const volume = dep.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
    assertEquals(volume.secret.secretName, "mysql-operator-remote-kubeconfig");
    assertEquals(c.securityContext.readOnlyRootFilesystem, true, "the patch keeps the hardening");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The Dockerfile as stages of instructions. */
function dockerStages(text: string): Array<{ from: string; name?: string; lines: string[] }> {
  const joined = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) =>
    l && !l.startsWith("#")
  );
  const stages: Array<{ from: string; name?: string; lines: string[] }> = [];
  for (const line of joined) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (m) stages.push({ from: m[1], name: m[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

Deno.test("Dockerfile: multi-stage, pinned bases, the pinned Deno, compile task, non-root, same entry and args", async () => {
  const text = await Deno.readTextFile(`${ROOT}Dockerfile`);
  const stages = dockerStages(text);
  assert(stages.length >= 2, "multi-stage");
  for (const s of stages) {
    assertMatch(s.from, /^[^:@\s]+:[\w.-]+@sha256:[0-9a-f]{64}$/, `pinned by tag and digest: ${s.from}`);
    assert(!/:latest@/.test(s.from), "no :latest");
  }
  const deno = Deno.version.deno;
  assertEquals(packageJson.devDependencies.deno, deno, "the tests run the pinned Deno");
  const build = stages.find((s) => s.from.startsWith("denoland/deno:"))!;
  assertStringIncludes(build.from, `:debian-${deno}@`, "the build stage has the pinned Deno");
  assertMatch(text, new RegExp(`^ARG DENO_VERSION=${deno.replace(/\./g, "\\.")}$`, "m"));
  assert(build.lines.some((l) => /deno install --frozen/.test(l)), "dependencies exactly as locked");
  assert(
    build.lines.some((l) => /^RUN DENORT_BIN=\S+ deno task compile$/.test(l)),
    "compiles with deno task compile",
  );
  assertEquals(
    denoJson.tasks.compile,
    "deno run --allow-env --allow-read --allow-run --allow-write=dist tools/compile.ts",
  );
  const final = stages.at(-1)!;
  assertMatch(final.from, /^gcr\.io\/distroless\//, "minimal runtime base");
  const copy = final.lines.find((l) => l.startsWith("COPY --from="))!;
  assertMatch(copy, new RegExp(`^COPY --from=${build.name} /src/dist/mysql-operator (\\S+)$`));
  const binary = copy.split(" ").at(-1)!;
  const user = final.lines.find((l) => l.startsWith("USER "))!.slice(5).trim();
  assertMatch(user, /^\d+(:\d+)?$/, "a numeric user (runAsNonRoot can check it)");
  assert(Number(user.split(":")[0]) !== 0, "non-root");
  assertEquals(Number(user.split(":")[0]), deployment.spec.template.spec.securityContext.runAsUser);
  const json = (instr: string) =>
    JSON.parse(final.lines.find((l) => l.startsWith(`${instr} `))!.slice(instr.length));
  assertEquals(json("ENTRYPOINT"), [binary]);
  assertEquals(json("CMD"), container.args, "the image's default args are the Deployment's");
  const env = Object.fromEntries(
    final.lines.filter((l) => l.startsWith("ENV ")).map((l) => l.slice(4).trim().split(/=(.*)/s).slice(0, 2)),
  );
  assertEquals(env, { ...OPERATOR_ENV }, "the image's environment is OPERATOR_ENV");
  // What OPERATOR_ENV preloads is in the image, where the loader looks for a soname.
  assert(
    build.lines.some((l) => /apt-get install [^&]*\blibjemalloc2\b/.test(l)),
    "the build stage has jemalloc",
  );
  assert(
    final.lines.includes(
      `COPY --from=${build.name} /opt/${OPERATOR_ENV.LD_PRELOAD} /usr/lib/${OPERATOR_ENV.LD_PRELOAD}`,
    ),
    "the runtime stage has jemalloc in /usr/lib",
  );
  assert(build.lines.some((l) => l.includes(`cp /usr/lib/*-linux-gnu/${OPERATOR_ENV.LD_PRELOAD} /opt/`)));
  // The locally assembled test image runs the same entry point with the same flags, uncompiled.
  assertEquals(IMAGE_ENTRYPOINT.slice(1, -1), ["run", ...OPERATOR_FLAGS]);
  const ignore = await Deno.readTextFile(`${ROOT}.dockerignore`);
  assertMatch(ignore, /^!tools\/compile\.ts$/m, "the build context has the compile tool");
});

Deno.test("deno task compile bakes exactly OPERATOR_PERMISSIONS: no write, no run, no FFI", () => {
  const args = compileArgs("/tmp/out");
  const permissionFlags = args.filter((a) => /^--(allow|deny)-|^-A$|^--unstable/.test(a));
  assertEquals(permissionFlags, [...OPERATOR_PERMISSIONS]);
  for (const f of [...OPERATOR_V8_FLAGS, ...OPERATOR_DENO_FLAGS]) {
    assert(args.includes(f), `compiled with ${f}`);
  }
  assertEquals(args.at(-1), ENTRY_POINT);
  assert(args.includes("--no-prompt"));
  for (const p of OPERATOR_PERMISSIONS) {
    assert(!/^(-A|--allow-all|--allow-(write|run|ffi|import)\b)/.test(p), `no ${p}`);
  }
});

Deno.test("deno task compile without DENORT_BIN fetches denort from Deno's CDN; unreachable, it says how to get it", async () => {
  const out = await Deno.makeTempDir({ prefix: "compile-" });
  try {
    const r = await run(
      DENO,
      [
        "run",
        "--allow-env",
        "--allow-read",
        "--allow-run",
        `--allow-write=${out}`,
        "tools/compile.ts",
        "--output",
        `${out}/mysql-operator`,
      ],
      { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" },
      true,
    );
    // It tried the CDN (unreachable on these machines; where it is reachable this test would compile instead).
    assertStringIncludes(r.stderr, `Download https://dl.deno.land/release/v${Deno.version.deno}/denort-`);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "DENORT_BIN is not set and denort could not be downloaded");
    assertStringIncludes(r.stderr, `https://dl.deno.land/release/v${Deno.version.deno}/denort-`);
    assertStringIncludes(r.stderr, "DENORT_BIN=$PWD/denort deno task compile");
    assertEquals([...Deno.readDirSync(out)], [], "nothing written");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** The JSON object that starts at `start` in `bytes` (brace matching, strings respected). */
function jsonAt(bytes: Uint8Array, start: number): Obj {
  let depth = 0, inString = false, escaped = false;
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      return JSON.parse(new TextDecoder().decode(bytes.subarray(start, i + 1)));
    }
  }
  throw new Error("unterminated JSON");
}

Deno.test({
  name: "deno task compile with a runtime given by DENORT_BIN embeds the program and the permissions",
  async fn() {
    // Any executable stands in for denort: deno compile appends the program and its metadata to it, which is
    // what this test reads back (running it needs the real denort, which cannot be downloaded here).
    const dir = await Deno.makeTempDir({ prefix: "compile-" });
    try {
      await Deno.copyFile("/bin/true", `${dir}/denort`);
      await Deno.chmod(`${dir}/denort`, 0o755);
      const r = await run(DENO, ["run", "-A", "tools/compile.ts", "--output", `${dir}/mysql-operator`], {
        DENORT_BIN: `${dir}/denort`,
        NO_COLOR: "1",
      });
      assertEquals(r.code, 0, r.stderr);
      const bytes = await Deno.readFile(`${dir}/mysql-operator`);
      const marker = new TextEncoder().encode('{"argv":');
      const at = bytes.findIndex((_, i) => marker.every((b, j) => bytes[i + j] === b));
      assert(at >= 0, "the executable carries deno compile's metadata");
      const meta = jsonAt(bytes, at);
      assertEquals(meta.argv, []);
      assertEquals(meta.entrypoint_key, "main.ts");
      const p = meta.permissions;
      assertEquals([p.allow_net, p.allow_env, p.allow_read], [[], [], []], "net, env, read: allowed");
      assertEquals(p.allow_sys, ["uid", "hostname"]);
      assertEquals([p.allow_write, p.allow_run, p.allow_ffi], [null, null, null], "no write, run, FFI");
      assertEquals(p.prompt, false);
      assert(!r.stderr.includes("node_modules/deno/"), "the pinned Deno itself is not embedded");
      assertStringIncludes(r.stderr, "@kubernetes");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

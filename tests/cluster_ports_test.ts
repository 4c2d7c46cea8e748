/**
 * The cluster tool never hands a port out twice: the command sequence that used to break (a cluster created while
 * another was stopped got the stopped one's ports, and the stopped one could then not start: PortInUseError) runs
 * through the CLI exactly as a user types it, on clusters of its own (mo-ports-*), and every cluster runs at the
 * end with no port shared. Also: a port taken by a foreign process gives a clear error naming the port.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { waitFor } from "./_clusters.ts";
import type { ClusterStatus } from "../tools/cluster/clusters.ts";
import { portsOf } from "../tools/cluster/ports.ts";
import { clusterPaths } from "../tools/cluster/paths.ts";
import { componentPid } from "../tools/cluster/state.ts";
import { compactForStop, dbBytes, etcdUrl } from "../tools/cluster/etcd.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const NAMES = ["mo-ports-1", "mo-ports-2", "mo-ports-3"];

/** `deno task cluster ...args`, as a user runs it; returns exit code and output. */
async function cluster(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "cluster", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function ok(...args: string[]): Promise<string> {
  const r = await cluster(...args);
  assertEquals(r.code, 0, `cluster ${args.join(" ")} failed:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** One call to etcd's JSON gateway. */
async function etcdPost(etcd: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${etcd}${path}`, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  assert(res.ok, `etcd ${path}: ${res.status} ${text}`);
}

async function statuses(): Promise<ClusterStatus[]> {
  return JSON.parse(await ok("status", "--json", "--names", NAMES.join(","))).clusters;
}

Deno.test({
  name: "up mo-ports-1,2; stop mo-ports-2; up mo-ports-3; start mo-ports-2: all run, no two share a port",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    try {
      await ok("up", "--names", `${NAMES[0]},${NAMES[1]}`);
      await ok("stop", NAMES[1]);
      await ok("up", "--names", NAMES[2]);
      await ok("start", NAMES[1]);
      const all = await statuses();
      assertEquals(all.map((s) => s.name), NAMES);
      for (const s of all) {
        assert(s.running && s.apiReady, `${s.name} is not running: ${JSON.stringify(s)}`);
        assert(s.ports, `${s.name} has no recorded ports`);
        assertEquals(
          new URL(s.server!).port,
          String(s.ports!.kubeApiserverPort),
          `${s.name}'s API server port`,
        );
      }
      const ports = all.flatMap((s) => portsOf(s.ports!));
      assertEquals(
        new Set(ports).size,
        ports.length,
        `a port is shared: ${JSON.stringify(all.map((s) => s.ports))}`,
      );

      // A foreign process on a stopped cluster's port: `start` says which port and that something else holds it.
      await ok("stop", NAMES[2]);
      const [st] = (await statuses()).filter((s) => s.name === NAMES[2]);
      const port = st.ports!.kubeApiserverPort;
      const squatter = await waitFor(`port ${port} free to squat`, () => {
        try {
          return Deno.listen({ hostname: "127.0.0.1", port });
        } catch {
          return undefined;
        }
      }, 30_000);
      try {
        const r = await cluster("start", NAMES[2]);
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(r.stderr, `port ${port} (kube-apiserver) is held by another process`);
      } finally {
        squatter.close();
      }
      await ok("start", NAMES[2]);
      // Started right after a stop: the stop returns only once the components have exited, so no port of theirs
      // is still held (kwokctl's stop alone returned at once and this start failed: "port … is held by another
      // process").
      await ok("stop", NAMES[2]);
      await ok("start", NAMES[2]);

      // Put away (`stop --all`, the end of `deno task test`), a cluster is compacted and defragmented first: what
      // earlier runs wrote and deleted does not stay in the database file that etcd reads whole at every start.
      const paths = await clusterPaths();
      const etcdPid = await componentPid(paths, NAMES[0], "etcd");
      const cmdline = (await Deno.readTextFile(`/proc/${etcdPid}/cmdline`)).split("\0");
      assert(cmdline.includes("--snapshot-count=200"), `etcd runs with ${cmdline.join(" ")}`);
      const etcd = await etcdUrl(paths, NAMES[0]);
      const value = btoa("x".repeat(512 * 1024));
      for (let i = 0; i < 60; i++) {
        await etcdPost(etcd, "/v3/kv/put", { key: btoa(`/mo-garbage/${i}`), value });
      }
      await etcdPost(etcd, "/v3/kv/deleterange", {
        key: btoa("/mo-garbage/"),
        range_end: btoa("/mo-garbage0"),
      });
      const before = await dbBytes(etcd);
      assert(before > 30e6, `etcd holds ${before} bytes after 30 MB were written and deleted`);
      const said: string[] = [];
      await compactForStop(paths, [NAMES[0]], (m) => said.push(m));
      const after = await dbBytes(etcd);
      assert(before - after > 25e6, `etcd: ${before} bytes before, ${after} after compaction and defrag`);
      assertStringIncludes(said.join("\n"), `${NAMES[0]}: etcd compacted and defragmented`);
    } finally {
      await cluster("down", "--names", NAMES.join(","));
    }
  },
});

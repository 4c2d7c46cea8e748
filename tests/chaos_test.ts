/**
 * The chaos run's short form (issue 14): one cluster, 20 objects, two minutes of operator kills, an API server
 * stopped and then hung, network faults, an etcd compaction and users acting at once, with a fixed seed (the
 * report names it; `deno task chaos --seed S` replays any run). Every invariant must hold, and the run must really
 * have done what it claims (the faults and the actions are counted by what happened, not by the schedule).
 *
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import type { ChaosReport } from "../tools/chaos/report.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("chaos, short form: 1 cluster x 20 objects, 2 minutes of faults and users at once; every invariant holds", async () => {
  const out = await Deno.makeTempDir({ prefix: "mo-chaos-test-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tools/chaos/main.ts",
        "--clusters",
        "1",
        "--objects",
        "20",
        "--minutes",
        "2",
        "--outage-seconds",
        "20",
        "--settle-minutes",
        "4",
        "--seed",
        "26",
        "--no-baseline",
        "--prefix",
        "mo-chaos-test-",
        "--keep",
        "--out",
        out,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const story = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr).slice(-20_000);
    const dirs = [...Deno.readDirSync(out)].map((d) => d.name);
    assertEquals(dirs.length, 1, `one report written:\n${story}`);
    const report: ChaosReport = JSON.parse(await Deno.readTextFile(`${out}/${dirs[0]}/results.json`));
    const c = report.chaos;
    assertEquals(c.violations, {
      dataWithoutBackup: [],
      foreignTouched: [],
      duplicateChildren: [],
      jobsLeftBehind: [],
      stuckObjects: [],
    }, story);
    assert(c.settleMs !== undefined, `settled:\n${story}`);
    assertEquals(r.code, 0, story);
    // What the run did, counted where it happened.
    for (const k of ["api-stop", "api-hang", "compact"]) assert((c.faultsDone[k] ?? 0) >= 1, `${k} done:\n${story}`);
    assertEquals(c.faultFailures, [], story);
    assert(c.operators.restarts >= 1, `the operators were killed and restarted:\n${story}`);
    assert(c.counts.foreignObjects >= 1 || c.userActions["create foreign: ok"] === undefined, story);
    assert((c.userActions["create: ok"] ?? 0) >= 20, `objects created:\n${story}`);
    assert((c.userActions["delete: ok"] ?? 0) >= 1, `objects deleted:\n${story}`);
    assert(c.counts.volumesDeleted >= 1, `data volumes went (after their final backups):\n${story}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

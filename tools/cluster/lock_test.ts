import { assert, assertEquals, assertRejects } from "../../tests/_assert.ts";
import { withLock } from "./lock.ts";

const dirs: string[] = [];
async function tempLockPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mo-lock-test-" });
  dirs.push(dir);
  return `${dir}/test.lock`;
}

Deno.test("withLock runs concurrent holders one after the other and removes the file", async () => {
  const path = await tempLockPath();
  const events: string[] = [];
  const holder = (id: string) =>
    withLock(path, async () => {
      events.push(`${id}+`);
      await new Promise((r) => setTimeout(r, 300));
      events.push(`${id}-`);
    }, { purpose: id });
  await Promise.all([holder("a"), holder("b")]);
  assertEquals(events.length, 4);
  // Never interleaved: each holder's end directly follows its start.
  assertEquals(events[1], `${events[0][0]}-`);
  assertEquals(events[3], `${events[2][0]}-`);
  await assertRejects(() => Deno.stat(path));
});

Deno.test("withLock breaks a lock whose holder process is gone", async () => {
  const path = await tempLockPath();
  const dead = new Deno.Command("true").spawn();
  const { success } = await dead.status;
  assert(success);
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      pid: dead.pid,
      start: "1",
      host: Deno.hostname(),
      createdAt: Date.now(),
      purpose: "killed",
    }),
  );
  assertEquals(await withLock(path, () => Promise.resolve(42), { purpose: "t", timeoutMs: 5_000 }), 42);
});

Deno.test("withLock waits for a live holder and times out with who holds it", async () => {
  const path = await tempLockPath();
  const self = Deno.readTextFileSync(`/proc/${Deno.pid}/stat`);
  const start = self.slice(self.lastIndexOf(")") + 2).split(" ")[19];
  await Deno.writeTextFile(
    path,
    JSON.stringify({ pid: Deno.pid, start, host: Deno.hostname(), createdAt: Date.now(), purpose: "busy" }),
  );
  let waited = false;
  await assertRejects(
    () =>
      withLock(path, () => Promise.resolve(), { purpose: "t", timeoutMs: 600, onWait: () => waited = true }),
    "(busy)",
  );
  assert(waited, "onWait was not called");
  // The live holder's lock is left alone.
  assertEquals(JSON.parse(await Deno.readTextFile(path)).purpose, "busy");
});

Deno.test("(cleanup of the lock tests' temporary directories)", async () => {
  for (const d of dirs.splice(0)) await Deno.remove(d, { recursive: true });
});

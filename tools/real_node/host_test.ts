import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { aptGet, ensurePackages } from "./host.ts";

/**
 * A stand-in apt-get that behaves like apt under contention: while another run holds the lock it fails at once
 * (exit 100, apt's message), as `apt-get update` does on the lists lock whatever DPkg::Lock::Timeout says.
 * `install` creates a marker file per package; `pkg-unknown` fails as an unknown package does.
 */
const FAKE_APT = `#!/bin/sh
if ! mkdir "$STATE/held" 2>/dev/null; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  echo refused >> "$STATE/refused"
  exit 100
fi
echo "$*" >> "$STATE/calls"
for a in "$@"; do
  case $a in
    pkg-unknown) rmdir "$STATE/held"; echo "E: Unable to locate package $a" >&2; exit 100 ;;
    pkg-*) : > "$STATE/$a" ;;
  esac
done
sleep 0.2
rmdir "$STATE/held"
`;

async function fakeApt() {
  const dir = await Deno.makeTempDir({ prefix: "fake-apt-" });
  await Deno.writeTextFile(`${dir}/apt-get`, FAKE_APT, { mode: 0o755 });
  const opts = {
    aptGet: `${dir}/apt-get`,
    lockPath: `${dir}/ours.lock`,
    env: { STATE: dir },
    waitMs: 60_000,
  };
  const calls = async () => (await Deno.readTextFile(`${dir}/calls`)).trim().split("\n");
  return { dir, opts, calls };
}

Deno.test("packages installed by several callers at once: they take turns, none fails on apt's lock", async () => {
  const { dir, opts, calls } = await fakeApt();
  try {
    const pkgs = ["pkg-a", "pkg-b", "pkg-c"].map((p) => [{ pkg: p, file: `${dir}/${p}` }]);
    await Promise.all(pkgs.map((p) => ensurePackages(p, opts)));
    for (const p of ["pkg-a", "pkg-b", "pkg-c"]) await Deno.stat(`${dir}/${p}`);
    const installs = (await calls()).filter((c) => c.includes(" install "));
    equal(installs.length, 3, `one install per package: ${installs.join(" | ")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aptGet waits while an apt outside this project holds apt's lock, then runs", async () => {
  const { dir, opts, calls } = await fakeApt();
  try {
    await Deno.mkdir(`${dir}/held`); // unattended upgrades, say
    let done = false;
    const running = aptGet(["update", "-qq"], opts).then((r) => (done = true, r));
    const refused = () => Deno.readTextFile(`${dir}/refused`).then((t) => t.split("\n").length - 1, () => 0);
    while ((await refused()) < 2) await new Promise((r) => setTimeout(r, 25));
    ok(!done, "aptGet finished although apt's lock was held throughout");
    await Deno.remove(`${dir}/held`);
    equal((await running).code, 0);
    deepStrictEqual(await calls(), ["-o DPkg::Lock::Timeout=300 update -qq"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aptGet throws other failures at once, with apt's message", async () => {
  const { dir, opts } = await fakeApt();
  try {
    await rejects(
      aptGet(["install", "-y", "pkg-unknown"], opts),
      /exited 100:\nE: Unable to locate package pkg-unknown/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

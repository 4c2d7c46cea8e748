/**
 * The command line as users meet it: main.ts run as a separate process with the operator's permission flags
 * (what `deno task start`, the compiled binary and the image run). Help of every subcommand names every flag the
 * subcommand accepts; unknown flags are usage errors (exit 2) that name the flag; and the permission sandbox
 * refuses writes, subprocesses and FFI while allowing what the operator needs.
 */
import { parse as parseYaml } from "yaml";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { DENO, mainProcess } from "./_operator.ts";
import { OPERATOR_FLAGS } from "../cli/permissions.ts";
import { CRD_FLAGS, DIFF_FLAGS, MIGRATE_FLAGS, RUN_FLAGS, STATUS_FLAGS } from "../cli/args.ts";
import denoJson from "../deno.json" with { type: "json" };

const ROOT = new URL("..", import.meta.url).pathname;

/** A flag table of cli/args.ts. */
type FlagSpec = Record<string, { type: string; short?: string }>;

/** Every `--flag` (and `-x` short form) a flag table accepts. */
function flagNames(spec: FlagSpec): string[] {
  return Object.entries(spec).flatMap(([name, f]) => [`--${name}`, ...(f.short ? [`-${f.short}`] : [])]);
}

function assertHelpNames(help: string, spec: FlagSpec) {
  for (const flag of flagNames(spec)) {
    assert(
      new RegExp(`(^|[\\s,])${flag.replace(/-/g, "\\-")}(\\s|,|=|$)`, "m").test(help),
      `help does not document ${flag}:\n${help}`,
    );
  }
}

Deno.test("--help lists the three ways in, --version, and exits 0 with nothing on stderr", async () => {
  const r = await mainProcess("--help");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  for (const cmd of ["run", "status", "crd", "diff", "--version", "--help"]) {
    assertStringIncludes(r.stdout, cmd);
  }
  assertStringIncludes(r.stdout, "mysqls.otus.homework");
  // No command at all: the same help, but it is a usage error.
  const none = await mainProcess();
  assertEquals(none.code, 2);
  assertEquals(none.stdout, r.stdout);
});

Deno.test("run --help documents every flag of run", async () => {
  const r = await mainProcess("run", "--help");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "", "no warnings on stderr (it would break JSON log lines)");
  assertHelpNames(r.stdout, RUN_FLAGS);
  for (const path of ["/healthz", "/readyz", "/metrics"]) assertStringIncludes(r.stdout, path);
});

Deno.test("status --help documents every flag of status", async () => {
  const r = await mainProcess("status", "--help");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertHelpNames(r.stdout, STATUS_FLAGS);
  assertStringIncludes(r.stdout, "CLUSTER");
});

Deno.test("crd --help documents every flag of crd; crd prints deploy/crd.yaml", async () => {
  const help = await mainProcess("crd", "--help");
  assertEquals(help.code, 0, help.stderr);
  assertEquals(help.stderr, "");
  assertHelpNames(help.stdout, CRD_FLAGS);
  const printed = await mainProcess("crd");
  assertEquals(printed.code, 0, printed.stderr);
  assertEquals(
    parseYaml(printed.stdout),
    parseYaml(await Deno.readTextFile(`${ROOT}deploy/crd.yaml`)),
    "`crd` prints what deploy/crd.yaml holds",
  );
});

Deno.test("diff --help documents every flag of diff and its exit status", async () => {
  const r = await mainProcess("diff", "--help");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertHelpNames(r.stdout, DIFF_FLAGS);
  assertStringIncludes(r.stdout, "0 no change, 1 changes, 2 an error");
});

Deno.test("--version prints deno.json's version and the Deno version", async () => {
  const r = await mainProcess("--version");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim(), `mysql-operator ${denoJson.version} (deno ${Deno.version.deno})`);
});

Deno.test("backups --help documents every flag of backups and its columns", async () => {
  const r = await mainProcess("backups", "--help");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertHelpNames(r.stdout, STATUS_FLAGS);
  assertStringIncludes(r.stdout, "TIME CLUSTER INSTANCE TARGET SIZE VERIFIED FILE");
});

Deno.test("migrate --help documents every flag of migrate, its steps and exit status; a bad route is a usage error", async () => {
  const r = await mainProcess("migrate", "--help");
  assertEquals(r.code, 0, r.stderr);
  assertHelpNames(r.stdout, MIGRATE_FLAGS);
  assertMatch(r.stdout, /1\. backup[\s\S]*2\. target[\s\S]*3\. restore[\s\S]*4\. delete/);
  assertStringIncludes(r.stdout, "Exit status: 0 done, 1");
  for (
    const [args, says] of [
      [["--from", "ctx/ns", "--to", "b/ns"], "--from must be CONTEXT/NAMESPACE/NAME"],
      [["--from", "a/ns/db", "--to", "b"], "--to must be CONTEXT/NAMESPACE"],
      [["--from", "a/ns/db", "--to", "a/ns"], "--to must differ"],
    ] as const
  ) {
    const bad = await mainProcess("migrate", ...args);
    assertEquals(bad.code, 2, bad.stderr);
    assertStringIncludes(bad.stderr, says);
  }
});

Deno.test("an unknown flag is a usage error (exit 2) naming the flag, for every subcommand", async () => {
  for (
    const [args, flag] of [
      [["run", "--kubconfig", "x"], "--kubconfig"],
      [["status", "--outptu=json"], "--outptu"],
      [["crd", "--instal"], "--instal"],
      [["diff", "--prnue"], "--prnue"],
      [["backups", "--all-context"], "--all-context"],
      [["migrate", "--delete-sourc"], "--delete-sourc"],
      [["--verison"], "--verison"],
    ] as const
  ) {
    const r = await mainProcess(...args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, flag);
    assertEquals(r.stdout, "", "usage errors go to stderr only");
  }
  // Bad values are usage errors too, naming the flag.
  const bad = await mainProcess("run", "--log-format", "xml");
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--log-format must be one of json, pretty, got xml/);
  assertStringIncludes(bad.stderr, "mysql-operator run --help");
});

Deno.test("the permission sandbox refuses write, subprocess and FFI, and allows what the operator needs", async () => {
  const scratch = await Deno.makeTempDir({ prefix: "sandbox-" });
  try {
    const out = await new Deno.Command(DENO, {
      args: [
        "run",
        "--no-prompt",
        ...OPERATOR_FLAGS,
        `${ROOT}tests/fixtures/sandbox_probe.ts`,
        scratch,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const results = JSON.parse(stdout.trim().split("\n").at(-1)!);
    const refused = (name: string) =>
      assert(
        ["NotCapable", "PermissionDenied"].includes(results[name]),
        `${name} must be refused, got ${results[name]}`,
      );
    for (const op of ["write", "mkdir", "spawn", "ffi", "osRelease"]) refused(op);
    for (const op of ["read", "env", "hostname", "uid", "listen", "version"]) {
      assertEquals(results[op], "ok", `${op} must be allowed`);
    }
    assertEquals([...Deno.readDirSync(scratch)], [], "nothing was written");
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});

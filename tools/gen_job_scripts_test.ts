import { equal, throws } from "node:assert/strict";
import { assembleScript, JOB_SCRIPTS_MODULE, jobScriptsModule, type ReadScript } from "./gen_job_scripts.ts";

/** A reader over in-memory files. */
function files(map: Record<string, string>): ReadScript {
  return (name) => {
    if (!(name in map)) throw new Error("No such file");
    return map[name];
  };
}

Deno.test("templates/job_scripts.ts is exactly what the .sh files make (run `deno task gen` after editing them)", async () => {
  equal(await Deno.readTextFile(JOB_SCRIPTS_MODULE), jobScriptsModule());
});

Deno.test("assembling: parts embedded where sourced, nested; shebang, shellcheck directives and ## notes left out; the rest byte for byte", () => {
  const read = files({
    "main.sh":
      "#!/bin/sh\n# shellcheck source-path=SCRIPTDIR\n## note\n##\n# kept comment\n. ./a.sh\necho  'x'  \\\n",
    "a.sh": "# shellcheck shell=sh\n\na() {\n  # shellcheck disable=SC2034 # why\n  :\n}\n. ./b.sh\n",
    "b.sh": "#!/bin/sh\nb=1 ##not a note\n",
  });
  equal(
    assembleScript("main.sh", read),
    "# kept comment\n\na() {\n  :\n}\nb=1 ##not a note\necho  'x'  \\\n",
  );
});

Deno.test("assembling refuses a missing part, a cycle, another way of sourcing and a file without its last newline", () => {
  throws(
    () => assembleScript("m.sh", files({ "m.sh": ". ./gone.sh\n" })),
    /cannot read gone\.sh \(sourced by m\.sh\)/,
  );
  throws(
    () => assembleScript("m.sh", files({ "m.sh": ". ./n.sh\n", "n.sh": ". ./m.sh\n" })),
    /m\.sh → n\.sh → m\.sh: sourced in a cycle/,
  );
  for (const line of ["source ./a.sh", ". a.sh", '. "./a.sh"', "  . ./a.sh", ". ./a.sh # why"]) {
    throws(
      () => assembleScript("m.sh", files({ "m.sh": `${line}\n`, "a.sh": "a=1\n" })),
      /m\.sh:1: a part is sourced/,
    );
  }
  throws(() => assembleScript("m.sh", files({ "m.sh": "echo x" })), /does not end with a newline/);
});

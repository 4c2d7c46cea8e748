/**
 * `table_sums` (templates/scripts/tables.sh) with a stand-in client: the two lines per table become one manifest
 * line, and an answer cut short is a failure, never a shorter list of sums (a restore would then compare fewer
 * tables than the backup had).
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { assembleScript } from "../tools/gen_job_scripts.ts";

/** Runs table_sums with a client that answers the listing with `names` and the statements with `answer`. */
async function tableSums(names: string, answer: string): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "table-sums-" });
  try {
    const client = `${dir}/client`;
    await Deno.writeTextFile(
      client,
      `#!/bin/sh\ncase "$*" in *' -e '*) printf '${names}' ;; *) cat > /dev/null; printf '${answer}' ;; esac\n`,
    );
    await Deno.chmod(client, 0o755);
    const script = `work=${dir}; cnf=/dev/null; MYSQL_DATABASE=shop\n${assembleScript("tables.sh")}\n` +
      `table_sums ${client} ${dir}/sums; echo "rc=$?"; cat ${dir}/sums 2>/dev/null`;
    const out = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
    return { code: out.code, out: new TextDecoder().decode(out.stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("table_sums: one sorted line per table from the client's two (hex name, then rows and sum)", async () => {
  const r = await tableSums("74\\n61\\n", "74\\n3\\t123\\n61\\n0\\t0\\n");
  deepStrictEqual(r.out.trim().split("\n"), ["rc=0", "table=61 0 0", "table=74 3 123"]);
});

Deno.test("table_sums: an answer cut short fails instead of summing fewer tables", async () => {
  for (const answer of ["74\\n3\\t123\\n61\\n", "74\\n3\\t123\\n61\\n0\\n"]) {
    const r = await tableSums("74\\n61\\n", answer);
    equal(r.out.split("\n")[0], "rc=1", `${answer}: ${r.out}`);
  }
});

Deno.test("table_sums: a listing line that is not a hex name fails (nothing from the server is spliced into SQL)", async () => {
  const r = await tableSums("74\\nt;DROP\\n", "74\\n3\\t1\\n");
  equal(r.out.split("\n")[0], "rc=1", r.out);
});

/**
 * The alert rules, checked and unit-tested by the real promtool (Debian's `prometheus` package, installed by the test
 * itself where it can): `promtool check rules`, `promtool test rules rules_test.yaml` (a case per alert, with series
 * that must not fire), a mutation the tests must catch, every metric the rules read exported by the operator, and
 * the PrometheusRule carrying exactly rules.yaml's groups.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { parse } from "yaml";
import { ensurePackages } from "../../tools/real_node/host.ts";
import { OperatorMetrics } from "../../runtime/metrics.ts";

const HERE = new URL(".", import.meta.url).pathname;
const PROMTOOL = "/usr/bin/promtool";

const missing = await ensurePackages([{ pkg: "prometheus", file: PROMTOOL }]).then(
  () => undefined,
  (e) => (e instanceof Error ? e.message : String(e)),
);
if (missing) console.warn(`SKIPPED deploy/monitoring/rules_test.ts: promtool not installed (${missing})`);

async function promtool(cwd: string, ...args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(PROMTOOL, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test({
  name: "promtool: the rules are valid and every alert's test case passes",
  ignore: missing !== undefined,
  async fn() {
    const check = await promtool(HERE, "check", "rules", "rules.yaml");
    equal(check.code, 0, check.text);
    ok(check.text.includes("SUCCESS: 6 rules found"), check.text);
    const test = await promtool(HERE, "test", "rules", "rules_test.yaml");
    equal(test.code, 0, test.text);
  },
});

Deno.test({
  name: "promtool: the test cases catch a non-leader's stale view counted (the lease filter removed)",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mo-rules-" });
    try {
      const rules = await Deno.readTextFile(`${HERE}rules.yaml`);
      const mutated = rules.replaceAll("unless on (cluster, instance) (mysql_operator_lease_held == 0)", "");
      ok(mutated !== rules);
      await Deno.writeTextFile(`${dir}/rules.yaml`, mutated);
      await Deno.copyFile(`${HERE}rules_test.yaml`, `${dir}/rules_test.yaml`);
      const test = await promtool(dir, "test", "rules", "rules_test.yaml");
      equal(test.code, 1, test.text);
      for (const alert of ["MySQLBackupOverdue", "MySQLFinalBackupFailing"]) {
        ok(test.text.includes(alert), test.text);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("every metric the rules read is one the operator exports", async () => {
  const rules = await Deno.readTextFile(`${HERE}rules.yaml`);
  const used = new Set(rules.match(/\bmysql_operator_[a-z_]+/g));
  const exported = new Set([...new OperatorMetrics().render().matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
  for (const name of used) ok(exported.has(name), `${name} is not exported`);
  ok(used.size >= 6, [...used].join(", "));
});

Deno.test("prometheus-rule.yaml is rules.yaml's groups as a PrometheusRule", async () => {
  const rules = parse(await Deno.readTextFile(`${HERE}rules.yaml`));
  const pr = parse(await Deno.readTextFile(`${HERE}prometheus-rule.yaml`));
  deepStrictEqual([pr.apiVersion, pr.kind], ["monitoring.coreos.com/v1", "PrometheusRule"]);
  deepStrictEqual(pr.spec, rules);
});

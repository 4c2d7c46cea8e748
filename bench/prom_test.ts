import { assertEquals } from "../tests/_assert.ts";
import { diff, parseProm, readsWrites, sum, sumBy } from "./prom.ts";

const TEXT = `# HELP mysql_operator_api_requests_total API requests by verb and HTTP code.
# TYPE mysql_operator_api_requests_total counter
mysql_operator_api_requests_total{cluster="kwok-a",code="200",verb="apply"} 7
mysql_operator_api_requests_total{cluster="kwok-a",code="201",verb="create"} 3
mysql_operator_api_requests_total{cluster="kwok-b",code="200",verb="apply"} 2
apiserver_request_total{code="200",component="apiserver",resource="pods",verb="LIST"} 4.5e+01
weird{label="a \\"quoted\\" value"} 1
`;

Deno.test("parseProm: names, labels (escapes) and values", () => {
  const s = parseProm(TEXT);
  assertEquals(s.length, 5);
  assertEquals(s[3].value, 45);
  assertEquals(s[4].labels.label, 'a "quoted" value');
});

Deno.test("sum, sumBy, diff, readsWrites", () => {
  const s = parseProm(TEXT);
  assertEquals(sum(s, "mysql_operator_api_requests_total", { cluster: "kwok-a" }), 10);
  assertEquals(sumBy(s, "mysql_operator_api_requests_total", "verb"), { apply: 9, create: 3 });
  assertEquals(diff({ a: 5, b: 2 }, { a: 3, b: 2 }), { a: 2 });
  assertEquals(readsWrites({ get: 2, LIST: 3, watch: 1, apply: 4, PATCH: 1 }), { reads: 6, writes: 5 });
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FAILURE_REASONS, parseJobReport } from "./job_report.ts";
import { BACKUP_SCRIPT, STORE_BACKUP_SCRIPT } from "./backup_script.ts";
import { RESTORE_SCRIPT, STORE_RESTORE_SCRIPT } from "./restore_script.ts";

const SHA = "d3ef3c1b558da4af72586269d84c9f9c9bf35618bec9f6fca685af6d2c867c08";
const UID = "0c54392f-a4d7-4cb9-a9e1-89e55c1ff80d";

Deno.test("parseJobReport reads each report the scripts write", () => {
  assertEquals(
    parseJobReport(
      `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"ns_a/ns_a-20261125T132537Z-pDXUX9.sql",` +
        `"bytes":2013,"sha256":"${SHA}","time":"2026-11-25T13:25:37Z"}\n`,
    ),
    {
      result: "BackedUp",
      jobUid: UID,
      readOnly: true,
      file: "ns_a/ns_a-20261125T132537Z-pDXUX9.sql",
      bytes: 2013,
      sha256: SHA,
      time: "2026-11-25T13:25:37Z",
    },
  );
  assertEquals(
    parseJobReport(
      `{"result":"Restored","backup":"ns_a/x.sql","sha256":"${SHA}","time":"2026-11-25T13:25:42Z",` +
        `"backupTime":"2026-11-25T13:25:37Z","message":"restored the backup taken at 2026-11-25T13:25:37Z"}`,
    ),
    {
      result: "Restored",
      backup: "ns_a/x.sql",
      sha256: SHA,
      time: "2026-11-25T13:25:42Z",
      backupTime: "2026-11-25T13:25:37Z",
      message: "restored the backup taken at 2026-11-25T13:25:37Z",
    },
  );
  assertEquals(
    parseJobReport(`{"result":"Restored","backup":"b.sql","sha256":"${SHA}","time":"t"}`),
    { result: "Restored", backup: "b.sql", sha256: SHA, time: "t" },
  );
  assertEquals(
    parseJobReport(
      `{"jobUid":"${UID}","result":"BackedUp","readOnly":false,"file":"f","bytes":0,"sha256":"${SHA}","time":"t"}`,
    ),
    { result: "BackedUp", jobUid: UID, readOnly: false, file: "f", bytes: 0, sha256: SHA, time: "t" },
  );
  assertEquals(
    parseJobReport(`{"jobUid":"${UID}","result":"Restored","backup":"b.sql","sha256":"${SHA}","time":"t"}`),
    { result: "Restored", jobUid: UID, backup: "b.sql", sha256: SHA, time: "t" },
  );
  assertEquals(parseJobReport(`{"jobUid":"${UID}","result":"NothingToRestore"}`), {
    result: "NothingToRestore",
    jobUid: UID,
  });
  assertEquals(
    parseJobReport(`{"jobUid":"${UID}","result":"Failed","reason":"ReadOnlyFailed","message":"m"}`),
    {
      result: "Failed",
      jobUid: UID,
      reason: "ReadOnlyFailed",
      message: "m",
    },
  );
  assertEquals(parseJobReport(`{"result":"NothingToRestore"}`), { result: "NothingToRestore" });
  assertEquals(parseJobReport(`{"result":"NothingToRestore","message":"none"}`), {
    result: "NothingToRestore",
    message: "none",
  });
  assertEquals(parseJobReport(`{"result":"Failed","reason":"DatabaseNotEmpty","message":"has 1 tables"}`), {
    result: "Failed",
    reason: "DatabaseNotEmpty",
    message: "has 1 tables",
  });
  assertEquals(parseJobReport(`{"result":"Failed","reason":"Interrupted"}`), {
    result: "Failed",
    reason: "Interrupted",
    message: "",
  });
});

Deno.test("parseJobReport takes the last valid report line of a log", () => {
  const log = `dumping database d1\n{"result":"Failed","reason":"DumpFailed","message":"x"}\r\n` +
    `noise\n{"result":"NothingToRestore"}\n\n  \n`;
  assertEquals(parseJobReport(log), { result: "NothingToRestore" });
  assertEquals(parseJobReport(`{"result":"NothingToRestore"}\n{"result":"Bogus"}\n`), {
    result: "NothingToRestore",
  });
});

Deno.test("parseJobReport returns undefined for garbage and never throws", () => {
  const garbage: (string | undefined)[] = [
    undefined,
    "",
    "   ",
    "null",
    "[]",
    "{}",
    "{",
    "}{",
    "{not json}",
    '"a string"',
    "42",
    '{"result":"BackedUp"}',
    // A backup report is one only with its Job's UID, a file and a 64-hex sha256 (and readOnly said).
    `{"result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"a b","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":42,"result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${
      "u".repeat(65)
    }","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":"true","file":"f","bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"bytes":12,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA.toUpperCase()}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"${SHA}0","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":-1,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":1.5,"sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":"12","sha256":"${SHA}","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"f","bytes":12,"sha256":"XYZ","time":"t"}`,
    `{"jobUid":"${UID}","result":"BackedUp","readOnly":true,"file":"","bytes":12,"sha256":"${SHA}","time":"t"}`,
    // Any report with a malformed jobUid is no report.
    `{"jobUid":"x y","result":"NothingToRestore"}`,
    `{"jobUid":null,"result":"Failed","reason":"DumpFailed"}`,
    `{"result":"Restored","backup":"b","sha256":"${SHA}"}`,
    '{"result":"Failed","reason":"lowercase"}',
    '{"result":"Failed","reason":""}',
    '{"result":"Failed","reason":7}',
    '{"result":{"nested":true}}',
    '{"__proto__":{"result":"NothingToRestore"}}',
    "\u0000\uffff{\u0000}",
    "{".repeat(100_000) + "}".repeat(100_000),
  ];
  for (const g of garbage) assertEquals(parseJobReport(g), undefined, String(g).slice(0, 80));
  // Not a string at all (a caller with bad typing) still does not throw.
  assertEquals(parseJobReport(42 as unknown as string), undefined);
});

Deno.test("every reason the scripts can report is a known, CamelCase failure reason", () => {
  const used = new Set<string>();
  for (const script of [BACKUP_SCRIPT, RESTORE_SCRIPT, STORE_BACKUP_SCRIPT, STORE_RESTORE_SCRIPT]) {
    for (const m of script.matchAll(/\bfail "?([A-Z][a-z][A-Za-z]*)"?\s/g)) used.add(m[1]);
    // Reasons chosen at run time by `classify ERRFILE DEFAULT`.
    for (const m of script.matchAll(/classify "[^"]+" ([A-Za-z]+)\)/g)) used.add(m[1]);
  }
  for (const m of BACKUP_SCRIPT.matchAll(/printf '(AccessDenied|ConnectionFailed)'/g)) used.add(m[1]);
  const known = new Set<string>(FAILURE_REASONS);
  for (const reason of used) assertEquals(known.has(reason), true, `unknown reason ${reason}`);
  for (const reason of FAILURE_REASONS) {
    assertEquals(used.has(reason), true, `reason ${reason} is never used`);
  }
});

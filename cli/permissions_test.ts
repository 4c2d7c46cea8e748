import { assert, assertEquals } from "../tests/_assert.ts";
import denoJson from "../deno.json" with { type: "json" };
import { OPERATOR_FLAGS, OPERATOR_PERMISSIONS } from "./permissions.ts";

Deno.test("deno task start and dev run main.ts with exactly OPERATOR_FLAGS", () => {
  for (const task of ["start", "dev"] as const) {
    const words = denoJson.tasks[task].split(/\s+/);
    const flags = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts")).filter((w) =>
      w !== "--watch"
    );
    assertEquals(flags, [...OPERATOR_FLAGS], task);
  }
});

Deno.test("the operator's permissions: no write, no subprocess, no FFI, no blanket grant", () => {
  for (const p of OPERATOR_PERMISSIONS) {
    assert(!/^(-A|--allow-all|--allow-(write|run|ffi|import)\b)/.test(p), `no ${p}`);
  }
});

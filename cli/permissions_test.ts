import { assertEquals } from "../tests/_assert.ts";
import denoJson from "../deno.json" with { type: "json" };
import { OPERATOR_ENV, OPERATOR_FLAGS } from "./permissions.ts";

Deno.test("deno task start and dev run main.ts with exactly OPERATOR_FLAGS and OPERATOR_ENV", () => {
  for (const task of ["start", "dev"] as const) {
    const words = denoJson.tasks[task].split(/\s+/);
    const env = Object.fromEntries(
      words.slice(0, words.indexOf("deno")).map((w) => w.split(/=(.*)/s).slice(0, 2)),
    );
    assertEquals(env, { ...OPERATOR_ENV }, task);
    const flags = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts")).filter((w) =>
      w !== "--watch"
    );
    assertEquals(flags, [...OPERATOR_FLAGS], task);
  }
});

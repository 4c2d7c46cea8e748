import { assertEquals } from "../tests/_assert.ts";
import denoJson from "../deno.json" with { type: "json" };
import { OPERATOR_FLAGS } from "./permissions.ts";

Deno.test("deno task start and dev run main.ts with exactly OPERATOR_FLAGS", () => {
  for (const task of ["start", "dev"] as const) {
    const words = denoJson.tasks[task].split(/\s+/);
    const flags = words.slice(words.indexOf("run") + 1, words.indexOf("main.ts")).filter((w) =>
      w !== "--watch"
    );
    assertEquals(flags, [...OPERATOR_FLAGS], task);
  }
});

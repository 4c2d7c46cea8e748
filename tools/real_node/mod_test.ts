import { assertEquals } from "../../tests/_assert.ts";
import { cgroupProbe } from "./mod.ts";

const canProbe = Deno.build.os === "linux" && Deno.uid() === 0 && (await cgroupProbe()) === undefined;

// The suite runs test files as workers of one process (`deno test --parallel`): their probes share a pid and may
// run at the same moment. Seen failing: with the pid alone in the probe's name, one of them got EEXIST and its
// real-node tests were skipped.
Deno.test({
  name: "cgroupProbe: probes at the same moment in one process all succeed",
  ignore: !canProbe,
  async fn() {
    assertEquals(await Promise.all(Array.from({ length: 4 }, () => cgroupProbe())), [
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  },
});

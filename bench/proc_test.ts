import { assert, assertEquals } from "../tests/_assert.ts";
import { higherRss, highestSample, ProcSampler, readProc } from "./proc.ts";

Deno.test("a snapshot splits RSS into anonymous and file-backed pages that add up to it", () => {
  const s = readProc(Deno.pid)!;
  assert(s.rssAnonBytes > 0 && s.rssFileBytes > 0, JSON.stringify(s));
  // RssShmem is the third part; a Deno process maps next to none.
  const rest = s.rssBytes - s.rssAnonBytes - s.rssFileBytes;
  assert(rest >= 0 && rest < 4 * 1024 * 1024, `${rest} bytes neither anonymous nor file-backed`);
  assert(s.peakRssBytes >= s.rssBytes);
  assertEquals(readProc(2 ** 22 + 1), undefined); // above pid_max's ceiling: no such process
});

Deno.test("the sampler's highest sample is the one with the most RSS, not the latest", () => {
  const snap = (rssBytes: number) => ({
    rssBytes,
    peakRssBytes: 200,
    cpuSeconds: 0,
    rssAnonBytes: rssBytes / 2,
    rssFileBytes: rssBytes / 2,
  });
  const [low, high, later] = [snap(100), snap(150), snap(120)];
  assertEquals([low, high, later].reduce<ReturnType<typeof snap> | undefined>(higherRss, undefined), high);
  assertEquals(higherRss(high, snap(150)), high);
  assertEquals(higherRss(undefined, undefined), undefined);

  const sampler = new ProcSampler(Deno.pid, [], 3_600_000);
  try {
    const resident = new Uint8Array(64 * 1024 * 1024).fill(1); // touched, so resident
    sampler.sample();
    const h = highestSample(sampler)!;
    assert(h.anonMB >= 64 && h.fileMB > 0 && h.rssMB >= h.anonMB + h.fileMB - 4, JSON.stringify(h));
    assertEquals(resident[resident.length - 1], 1);
  } finally {
    sampler.stop();
  }
});

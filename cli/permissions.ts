/**
 * The Deno permissions, V8 flags and environment the operator runs with, everywhere: `deno task start`, the compiled binary, the container
 * image and the tests that run "the binary". Network, environment, reading the kubeconfig and service-account
 * files, and the uid/hostname (client-node reads the uid to find ~/.kube/config; the hostname names the lease
 * holder). No write, no subprocess, no FFI.
 *
 * @module
 */

/** Permission flags of the operator process. */
export const OPERATOR_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys=uid,hostname",
]);

/**
 * V8 flags of the operator process. A 2 MB young-generation semi-space: V8 grows it to 16 MB and more under a burst
 * of watch events and keeps the pages (`deno task bench` at 3 x 100: peak RSS 208 → 144 MB). `--optimize-for-size`:
 * V8 grows the old generation less eagerly and collects it sooner; at 3 x 300 the heap reserved at the peak went
 * 198.7 → 57.6 MB and peak RSS over creation, idle and 900 deletions 308.9 → 150.5 MB, for the same CPU time
 * (29.9 → 29.0 s creating) and no slower convergence (bench/results/20261204-060635-3x300 against
 * 20261204-062139-3x300). `--lite-mode`: no optimizing compilers (V8 runs jitless, so no WebAssembly, which
 * nothing here uses): their code pages are never touched and no compile zones are allocated. One cluster, 300
 * objects created, idle and deleted with their final backups: peak RSS 102.7 → 91.6 MB for 22.6 → 32.6 CPU
 * seconds (the operator waits on the API servers, not on its own code: the time to all Ready did not move).
 * The README's "Memory" section has the runs.
 */
export const OPERATOR_V8_FLAGS: readonly string[] = Object.freeze([
  "--v8-flags=--max-semi-space-size=2,--optimize-for-size,--lite-mode",
]);

/**
 * jemalloc's settings (`MALLOC_CONF`): one arena, no per-thread caches, and freed pages handed back to the kernel
 * at once (no decay delay), so a burst's buffers do not stay resident.
 */
export const JEMALLOC_CONF = "narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0";

/**
 * Environment of the operator process, everywhere it runs for long (`deno task start` and `dev`, the container
 * image, the tests' and the benchmark's operators).
 *
 * jemalloc (Debian's libjemalloc2, preloaded by its soname, found wherever the distribution keeps it) serves
 * every allocation outside V8's heap: response bodies, TLS and HTTP/2 buffers, V8's own zones. glibc's allocator
 * keeps freed blocks of many sizes spread over its heap, and the pages that hold them stay resident. At 3 x 300
 * peak RSS over creation, idle and deletion went 118.2 → 111.6 MB, the creation's peak 118.2 → 105.7 MB and idle
 * RSS 98.7 → 87.8 MB (bench/results/20261205-054334-3x300 against 20261205-055203-3x300). Where the library is missing the loader
 * says so once on stderr (`cannot be preloaded … ignored`) and glibc's allocator runs with `GLIBC_TUNABLES`:
 * two arenas and fixed 128 KiB mmap and trim thresholds (glibc raises both after freeing a large block, up to
 * 32 MiB, so a burst's buffers would stay on its heap; at 3 x 300 that setting took peak RSS 142.1 → 131.8 MB,
 * bench/results/20261204-085237-3x300 against 20261204-085954-3x300). The compiled binary reads both from its
 * environment like any program: the image sets them; the README says to set them where the binary is run by hand.
 *
 * `DENO_NO_UPDATE_CHECK`: `deno run` otherwise asks Deno's site for a newer release once a day, from a TLS client
 * of its own that stays in memory; an operator has no business calling anything but its API servers. The operator
 * serving one unreachable cluster: 63.0–63.1 → 61.4–62.0 MB RSS 12 s after its start (three runs each).
 */
export const OPERATOR_ENV: Readonly<Record<string, string>> = Object.freeze({
  GLIBC_TUNABLES:
    "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072",
  LD_PRELOAD: "libjemalloc.so.2",
  MALLOC_CONF: JEMALLOC_CONF,
  DENO_NO_UPDATE_CHECK: "1",
});

/**
 * Deno's own settings of the operator process. `--no-code-cache`: Deno otherwise keeps V8's compiled code of every
 * module in a SQLite file it maps into the process, and the pages read stay in RSS for the process's life; without
 * it the modules are compiled at start (lazily, in the interpreter of `--lite-mode`). Against one cluster of 300
 * objects, idle RSS 74.1–75.3 → 70.0–70.7 MB and the start's peak 101.4–103.6 → 93.8–99.6 MB (three runs each);
 * the start took no longer (`mysql-operator run --help`: 0.19–0.31 s either way).
 */
export const OPERATOR_DENO_FLAGS: readonly string[] = Object.freeze(["--no-code-cache"]);

/** What `deno run` and `deno compile` get before the entry point, everywhere: permissions, V8 flags, Deno's. */
export const OPERATOR_FLAGS: readonly string[] = Object.freeze([
  ...OPERATOR_PERMISSIONS,
  ...OPERATOR_V8_FLAGS,
  ...OPERATOR_DENO_FLAGS,
]);

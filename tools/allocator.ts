/**
 * The allocator the operator preloads (cli/permissions.ts `OPERATOR_ENV`): Debian's jemalloc. The tests, the
 * benchmark, the demo and the in-cluster test image install it on this host when they can (root with apt-get),
 * so the operator they run allocates as it does in its image. Elsewhere the operator still runs, on glibc's
 * allocator, after the loader's one-line notice.
 *
 * @module
 */
import { ensurePackages } from "./real_node/host.ts";

/** Debian's package of jemalloc and the file it installs (the soname `OPERATOR_ENV` preloads). */
export const JEMALLOC = {
  pkg: "libjemalloc2",
  file: `/usr/lib/${Deno.build.arch}-linux-gnu/libjemalloc.so.2`,
} as const;

let installed: Promise<boolean> | undefined;

/** Installs jemalloc once per process where this process may; true when it is there. */
export function ensureJemalloc(): Promise<boolean> {
  installed ??= (async () => {
    if (Deno.build.os !== "linux") return false;
    if (Deno.uid() !== 0) return await Deno.stat(JEMALLOC.file).then(() => true, () => false);
    await ensurePackages([JEMALLOC]);
    return true;
  })();
  return installed;
}

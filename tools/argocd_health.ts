/**
 * Runs deploy/argocd/health.lua the way Argo CD does (the object as the global `obj`, the chunk's returned table
 * read back), with Debian's Lua 5.1 (Argo CD's gopher-lua implements Lua 5.1). Shared by the health check's own
 * table test (deploy/argocd/health_test.ts) and the test over live objects (tests/gitops_health_test.ts).
 *
 * @module
 */
import { ensurePackages } from "./real_node/host.ts";

const HEALTH_LUA = new URL("../deploy/argocd/health.lua", import.meta.url).pathname;
const LUA = "/usr/bin/lua5.1";

/** Argo CD's verdict: `Healthy`, `Progressing`, `Degraded` (…) and the message it shows. */
export interface ArgoHealth {
  status: string;
  message: string;
}

/** Installs lua5.1 where it can (root with apt-get); the reason it cannot otherwise (for a SKIPPED line). */
export function ensureLua(): Promise<string | undefined> {
  return ensurePackages([{ pkg: "lua5.1", file: LUA }]).then(
    () => undefined,
    (e) => (e instanceof Error ? e.message : String(e)),
  );
}

/** A value as a Lua 5.1 literal (strings as 3-digit decimal byte escapes where not plain ASCII: no quoting to get wrong). */
export function luaLiteral(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") {
    let out = "";
    for (const b of new TextEncoder().encode(v)) {
      // Three digits always: Lua reads up to three, so "\34" before a digit would swallow it.
      out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c
        ? String.fromCharCode(b)
        : `\\${String(b).padStart(3, "0")}`;
    }
    return `"${out}"`;
  }
  if (Array.isArray(v)) return `{${v.map(luaLiteral).join(", ")}}`;
  const fields = Object.entries(v as Record<string, unknown>).map(([k, x]) =>
    `[${luaLiteral(k)}] = ${luaLiteral(x)}`
  );
  return `{${fields.join(", ")}}`;
}

/** health.lua's verdict on `obj`. */
export async function argoHealth(obj: unknown): Promise<ArgoHealth> {
  const chunk = `obj = ${luaLiteral(obj)}\nlocal hs = dofile(${luaLiteral(HEALTH_LUA)})\n` +
    `io.write(hs.status, "\\n", hs.message)\n`;
  const child = new Deno.Command(LUA, { args: ["-"], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(chunk));
  await w.close();
  const out = await child.output();
  if (out.code !== 0) throw new Error(`lua5.1 failed: ${new TextDecoder().decode(out.stderr)}`);
  const [status, ...rest] = new TextDecoder().decode(out.stdout).split("\n");
  return { status, message: rest.join("\n") };
}

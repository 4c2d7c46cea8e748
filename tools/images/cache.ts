/**
 * Where locally built images live, and the content hash that keys them.
 *
 * @module
 */

/** Root of the project's build cache (the same rule as tools/cluster/build.sh). */
export function cacheRoot(): string {
  const explicit = Deno.env.get("MYSQL_OPERATOR_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? "/root";
  return `${xdg || `${home}/.cache`}/mysql-operator`;
}

/** Directory of the image cache: `<cache>/images`. */
export function imagesDir(): string {
  return `${cacheRoot()}/images`;
}

/** Lower-case hex SHA-256 of a string or bytes. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hash of a build's inputs, as the 16 hex digits used in cache directory names and image tags. */
export async function inputsHash(inputs: unknown): Promise<string> {
  return (await sha256Hex(JSON.stringify(inputs))).slice(0, 16);
}

/**
 * Runs `fn` while holding an exclusive lock on `<imagesDir>/.<name>.lock`, so concurrent builds of one image
 * (parallel tests, two terminals) wait for each other instead of racing.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(imagesDir(), { recursive: true });
  const file = await Deno.open(`${imagesDir()}/.${name}.lock`, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}

/**
 * FNV-1a 64-bit, the hash in the names the runtime derives (a Lease per namespace set, the shard ranking).
 *
 * @module
 */

/**
 * FNV-1a 64-bit as 16 hex digits. The same function as templates/names.ts's, which the runtime may not import
 * (templates/names_test.ts holds both to the definition): a changed hash would rename the Lease and let two
 * operator versions lead one cluster at once during an upgrade.
 */
export function fnv1a64(text: string): string {
  // 64-bit arithmetic on four 16-bit limbs, lowest first. BigInt allocated several objects per byte, the most of
  // anything a pass allocated (childNames runs on every pass); so do numbers beyond 2^30 in V8's interpreter, which
  // the operator runs in (--lite-mode). Every value here stays below 2^26. The prime is 2^40 + 0x1b3: a product is
  // each limb times 0x1b3, plus the value shifted left by 40 bits (2.5 limbs), with the carries passed up.
  const bytes = encode(text);
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i];
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);
}

function hex4(limb: number): string {
  return limb.toString(16).padStart(4, "0");
}

const encoder = new TextEncoder();
let buffer = new Uint8Array(256);

/** The UTF-8 bytes of `text`, in a buffer reused by every call (valid until the next one). */
function encode(text: string): Uint8Array {
  if (text.length * 3 > buffer.length) buffer = new Uint8Array(text.length * 3);
  return buffer.subarray(0, encoder.encodeInto(text, buffer).written);
}

/** Test helpers for lib/crypto (used by its tests only). */

// deno-lint-ignore no-explicit-any
export type Json = any;

/** Loads a Wycheproof vector file copied into lib/crypto/testdata/. */
export async function loadVectors(name: string): Promise<Json> {
  const url = new URL(`./testdata/${name}`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url));
}

/** Flips one bit of a copy. */
export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  const i = Math.floor(bit / 8) % c.length;
  c[i]! ^= 1 << (bit % 8);
  return c;
}

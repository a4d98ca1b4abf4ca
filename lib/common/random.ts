/** Injected randomness: production uses WebCrypto; tests may pass a seeded source. */
import { toHex } from "./bytes.ts";

export type RandomBytes = (n: number) => Uint8Array;

export const cryptoRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

/** A random id of `n` bytes as lowercase hex (every hello's nonce: the built-in encoder, `toHex`). */
export function randomId(rand: RandomBytes = cryptoRandom, n = 16): string {
  return toHex(rand(n));
}

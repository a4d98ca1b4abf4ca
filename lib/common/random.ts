/** Injected randomness: production uses WebCrypto; tests may pass a seeded source. */

export type RandomBytes = (n: number) => Uint8Array;

export const cryptoRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

/** A random id of `n` bytes as lowercase hex. */
export function randomId(rand: RandomBytes = cryptoRandom, n = 16): string {
  let s = "";
  for (const x of rand(n)) s += x.toString(16).padStart(2, "0");
  return s;
}

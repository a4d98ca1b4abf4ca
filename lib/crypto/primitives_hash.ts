/**
 * The hash-based primitives of lib/crypto (re-exported by primitives.ts, their one public door):
 * HMAC-SHA256/512 composed per RFC 2104 on one reused hash-wasm SHA-256 and SHA-512 instance
 * (node:crypto's Hmac object costs about 3× more per call on chat-sized input), HKDF-SHA256 on
 * node:crypto, HKDF-Expand-SHA512 (RFC 5869 §2.3) on that HMAC, SHA-512 three ways (WebCrypto,
 * node:crypto synchronously, the hash-wasm chain of safety numbers). All synchronous inside.
 * hash-wasm (its module and two WebAssembly instances, ~25 ms of CPU) loads on the first use, not at
 * import: a command that hashes nothing (a video play) does not pay for it. Until it is ready,
 * `hmacSync` computes the same HMAC with node:crypto.
 */

import { createHash, createHmac, hkdfSync } from "node:crypto";
import type { IHasher } from "hash-wasm";
import { concatBytes } from "../common/bytes.ts";

/** HKDF-SHA256, synchronous (node:crypto), for keys derived in synchronous code. */
export function hkdfSha256Sync(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new RangeError("Invalid HKDF length");
  }
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

/** HKDF-SHA256 (RFC 5869 extract-then-expand); `length` in bytes, at most 255·32. */
// deno-lint-ignore require-await
export async function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  return hkdfSha256Sync(ikm, salt, info, length);
}

// One SHA-256 and one SHA-512 instance (WebAssembly), made once on first use; every use below runs
// to the end without awaiting, so no two uses interleave.
type WasmSha = Record<"sha256" | "sha512", IHasher>;
let wasmSha: WasmSha | null = null;
let wasmLoading: Promise<WasmSha> | null = null;

/** The WebAssembly hashers, made on the first call (later calls share them). */
export function wasmHashers(): Promise<WasmSha> {
  return wasmLoading ??= (async () => {
    const { createSHA256, createSHA512 } = await import("hash-wasm");
    return wasmSha = { sha256: await createSHA256(), sha512: await createSHA512() };
  })();
}

/** HMAC through node:crypto's Hmac object: the same function as `hmacSync`, ~3× its cost per call. */
export function hmacNode(hash: "sha256" | "sha512", key: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, key).update(msg).digest());
}
const HMAC_BLOCK = { sha256: 64, sha512: 128 } as const;

/**
 * HMAC (RFC 2104 / FIPS 198-1), synchronously: the one HMAC path of lib/crypto (Double Ratchet
 * chain keys, HKDF-Expand-SHA512). H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ msg)), K0 = K zero-padded to
 * the block size, or H(K) padded when K is longer than a block.
 */
export function hmacSync(hash: "sha256" | "sha512", key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (!wasmSha) {
    void wasmHashers().catch(() => {}); // ready for the next call (node:crypto serves until then)
    return hmacNode(hash, key, msg);
  }
  const h = wasmSha[hash];
  const block = HMAC_BLOCK[hash];
  let k0 = key;
  if (k0.length > block) {
    h.init();
    h.update(k0);
    k0 = h.digest("binary");
  }
  const pad = new Uint8Array(block).fill(0x36);
  for (let i = 0; i < k0.length; i++) pad[i]! ^= k0[i]!;
  h.init();
  h.update(pad);
  h.update(msg);
  const inner = h.digest("binary");
  for (let i = 0; i < block; i++) pad[i]! ^= 0x36 ^ 0x5c;
  h.init();
  h.update(pad);
  h.update(inner);
  return h.digest("binary");
}

/** HKDF-Expand with HMAC-SHA512 (RFC 5869 §2.3), for a PRK that is already uniformly random. */
// deno-lint-ignore require-await
export async function hkdfExpandSha512(
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 64) {
    throw new RangeError("Invalid HKDF length");
  }
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  let off = 0;
  for (let i = 1; off < length; i++) {
    t = hmacSync("sha512", prk, concatBytes([t, info, Uint8Array.of(i)])); // T(i) = HMAC(PRK, T(i-1) | info | i)
    out.set(t.subarray(0, Math.min(t.length, length - off)), off);
    off += t.length;
  }
  return out;
}

export async function sha512(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-512", new Uint8Array(data)));
}

/**
 * SHA-512 through node:crypto, synchronously: for loops of many small hashes (safety numbers hash
 * 5,200 times), where WebCrypto's promise per call costs more than the hash. Same function, same
 * vectors as `sha512`.
 */
export function sha512Sync(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * h = SHA-512(h ‖ tail), `n` times from h = `first` (the safety-number chain): one hash-wasm SHA-512
 * instance reused for every round, about twice as fast as a node:crypto hash object per round.
 * Same function as `sha512Sync` on each round (tested against it and libsignal's vectors).
 */
export async function sha512Chain(first: Uint8Array, tail: Uint8Array, n: number): Promise<Uint8Array> {
  const w = (await wasmHashers()).sha512;
  const block = new Uint8Array(first.length + tail.length);
  block.set(tail, first.length);
  let h = first;
  // No await inside: the shared instance is never used by two chains at once.
  for (let i = 0; i < n; i++) {
    block.set(h, 0);
    w.init();
    w.update(block);
    h = w.digest("binary");
  }
  return h;
}

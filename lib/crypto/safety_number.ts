/**
 * Safety numbers computed like libsignal's displayable fingerprint (version 0):
 *   h₀ = SHA-512(0x0000 ‖ key ‖ id ‖ key), hᵢ = SHA-512(hᵢ₋₁ ‖ key), 5200 iterations in all;
 *   the first 30 bytes of the result, read as six 5-byte big-endian integers mod 100000, give
 *   30 digits per side; the two sides are sorted and concatenated into 60 digits.
 * Parley uses `identityBytes()` (Ed25519 ‖ X25519 public keys) as the key and the UTF-8 user name
 * as the id; both devices see the same number.
 *
 * Each half is a pure function of (id, key), so halves are kept in a small LRU cache: a device's
 * own half is the same for every contact, so after the first safety number each new contact costs
 * one half (5,200 hashes), not two; the same contact again costs none.
 */

import { toHex, utf8 } from "../common/bytes.ts";
import { LruMap } from "../common/lru.ts";
import { identityBytes, type PublicIdentity } from "./identity.ts";
import { sha512Chain, sha512Sync } from "./primitives.ts";

export const SAFETY_ITERATIONS = 5200;

const HALF_CACHE_MAX = 64;
const halves = new LruMap<string, Promise<string>>(HALF_CACHE_MAX);

/** The 30-digit half for one party (cached by id, key and iteration count). */
export function fingerprintHalf(
  id: Uint8Array,
  key: Uint8Array,
  iterations = SAFETY_ITERATIONS,
): Promise<string> {
  const k = `${iterations}:${toHex(id)}:${toHex(key)}`;
  let half = halves.get(k);
  if (half === undefined) {
    half = computeHalf(id, key, iterations);
    halves.set(k, half);
    half.catch(() => halves.delete(k));
  }
  return half;
}

/** Forgets the cached halves (benchmarks measure the uncached cost with it). */
export function clearSafetyNumberCache(): void {
  halves.clear();
}

async function computeHalf(id: Uint8Array, key: Uint8Array, iterations: number): Promise<string> {
  // 5,200 WebCrypto promises took ~250 ms; one reused hash-wasm SHA-512 takes ~12 ms (sha512Chain).
  const h = await sha512Chain(sha512Sync(Uint8Array.of(0, 0), key, id, key), key, iterations - 1);
  let out = "";
  for (let c = 0; c < 6; c++) {
    let x = 0;
    for (let j = 0; j < 5; j++) x = x * 256 + h[c * 5 + j]!;
    out += String(x % 100000).padStart(5, "0");
  }
  return out;
}

/** The 60-digit safety number for a pair of (id, key); symmetric in its two sides. */
export async function safetyNumber(
  localId: string,
  localKey: Uint8Array,
  remoteId: string,
  remoteKey: Uint8Array,
): Promise<string> {
  const [l, r] = await Promise.all([
    fingerprintHalf(utf8.encode(localId), localKey),
    fingerprintHalf(utf8.encode(remoteId), remoteKey),
  ]);
  return l < r ? l + r : r + l;
}

/** Safety number for two Parley identities. */
export function identitySafetyNumber(
  localId: string,
  local: PublicIdentity,
  remoteId: string,
  remote: PublicIdentity,
): Promise<string> {
  return safetyNumber(localId, identityBytes(local), remoteId, identityBytes(remote));
}

/** Groups 60 digits for display: 12 groups of 5, `perLine` groups per line. */
export function formatSafetyNumber(digits: string, perLine = 4): string {
  const groups = digits.match(/.{1,5}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += perLine) lines.push(groups.slice(i, i + perLine).join(" "));
  return lines.join("\n");
}

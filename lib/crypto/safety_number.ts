/**
 * Safety numbers computed like libsignal's displayable fingerprint (version 0):
 *   h₀ = SHA-512(0x0000 ‖ key ‖ id ‖ key), hᵢ = SHA-512(hᵢ₋₁ ‖ key), 5200 iterations in all;
 *   the first 30 bytes of the result, read as six 5-byte big-endian integers mod 100000, give
 *   30 digits per side; the two sides are sorted and concatenated into 60 digits.
 * Parley uses `identityBytes()` (Ed25519 ‖ X25519 public keys) as the key and the UTF-8 user name
 * as the id; both devices see the same number.
 */

import { utf8 } from "../common/bytes.ts";
import { identityBytes, type PublicIdentity } from "./identity.ts";
import { sha512Sync } from "./primitives.ts";

export const SAFETY_ITERATIONS = 5200;

/** The 30-digit half for one party. */
export function fingerprintHalf(
  id: Uint8Array,
  key: Uint8Array,
  iterations = SAFETY_ITERATIONS,
): Promise<string> {
  return Promise.resolve(fingerprintHalfSync(id, key, iterations));
}

function fingerprintHalfSync(id: Uint8Array, key: Uint8Array, iterations: number): string {
  // Synchronous hashing: 5,200 WebCrypto promises took ~250 ms; node:crypto takes a few ms.
  let h = sha512Sync(Uint8Array.of(0, 0), key, id, key);
  for (let i = 1; i < iterations; i++) h = sha512Sync(h, key);
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

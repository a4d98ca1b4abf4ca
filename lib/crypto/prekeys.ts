/**
 * Signed prekeys (rotated, old ones kept for a grace period) and one-time prekeys, and the bundle
 * built from them (`PrekeyBundle`: the server-facing JSON shape, defined beside its checks in
 * prekey_verify.ts and exported here too). The server stores bundles and hands out each one-time
 * prekey once; it checks uploads with prekey_verify.ts and never needs a private key.
 *
 * Signed-prekey signature: Ed25519(identity.sign.priv, "parley-spk-v1\0" ‖ u32be(id) ‖ spk.pub).
 */

import { fromBase64, toBase64 } from "../common/bytes.ts";
import type { IdentityKeyPair } from "./identity.ts";
import { ed25519Sign, x25519Generate } from "./primitives.ts";
import { isId, type PrekeyBundle, spkSigned } from "./prekey_verify.ts";

/** The bundle's shape lives beside its checks (prekey_verify.ts); importers may take it from here. */
export type { PrekeyBundle };

/** A signed prekey with its private half (client side only). */
export interface SignedPrekey {
  id: number;
  pub: string;
  priv: string;
  sig: string;
  /** creation time, ms since epoch */
  createdAt: number;
}

/** A one-time prekey with its private half (client side only). */
export interface OneTimePrekey {
  id: number;
  pub: string;
  priv: string;
}

/** Rotate the signed prekey weekly; keep the previous ones four weeks for late initial messages. */
export const SPK_ROTATE_MS = 7 * 24 * 3600 * 1000;
export const SPK_KEEP_MS = 28 * 24 * 3600 * 1000;

/** Makes a signed prekey `id`, signed by the identity's Ed25519 key. */
export async function generateSignedPrekey(
  identity: IdentityKeyPair,
  id: number,
  now: number,
): Promise<SignedPrekey> {
  if (!isId(id)) throw new RangeError("Prekey id must be a u32");
  const kp = await x25519Generate();
  const sig = await ed25519Sign(fromBase64(identity.sign.priv), spkSigned(id, kp.pub));
  return { id, pub: toBase64(kp.pub), priv: toBase64(kp.priv), sig: toBase64(sig), createdAt: now };
}

/** Makes `n` one-time prekeys with ids `startId … startId+n-1`. */
export async function generateOneTimePrekeys(startId: number, n: number): Promise<OneTimePrekey[]> {
  if (!isId(startId) || !isId(startId + n) || n < 0) throw new RangeError("Prekey ids must be u32");
  const out: OneTimePrekey[] = [];
  for (let i = 0; i < n; i++) {
    const kp = await x25519Generate();
    out.push({ id: startId + i, pub: toBase64(kp.pub), priv: toBase64(kp.priv) });
  }
  return out;
}

/** True when the signed prekey is older than the rotation period. */
export function signedPrekeyNeedsRotation(spk: SignedPrekey, now: number): boolean {
  return now - spk.createdAt >= SPK_ROTATE_MS;
}

/** Drops signed prekeys older than the keep period, always keeping `currentId`. */
export function pruneSignedPrekeys(
  spks: readonly SignedPrekey[],
  currentId: number,
  now: number,
): SignedPrekey[] {
  return spks.filter((s) => s.id === currentId || now - s.createdAt < SPK_KEEP_MS);
}

/** Assembles the public bundle to upload (or, with `opk`, the one the server hands out). */
export function buildBundle(identity: IdentityKeyPair, spk: SignedPrekey, opk?: OneTimePrekey): PrekeyBundle {
  const b: PrekeyBundle = {
    identity: { sign: identity.sign.pub, dh: identity.dh.pub, sig: identity.sig },
    spk: { id: spk.id, pub: spk.pub, sig: spk.sig },
  };
  if (opk) b.opk = { id: opk.id, pub: opk.pub };
  return b;
}

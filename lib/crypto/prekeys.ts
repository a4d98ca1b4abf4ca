/**
 * Signed prekeys (rotated, old ones kept for a grace period) and one-time prekeys, and the
 * server-facing `PrekeyBundle` JSON shape. The server stores bundles and hands out each one-time
 * prekey once; it validates shapes with `isPrekeyBundleShape` and never needs a private key.
 *
 * Signed-prekey signature: Ed25519(identity.sign.priv, "parley-spk-v1\0" ‖ u32be(id) ‖ spk.pub).
 */

import { concatBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import { decodeB64, type IdentityKeyPair, type PublicIdentity, verifyPublicIdentity } from "./identity.ts";
import { ed25519Sign, ed25519Verify, KEY_LEN, SIG_LEN, u32be, x25519Generate } from "./primitives.ts";

/** The bundle the server stores and hands out. Strings are base64 of raw keys / signatures. */
export interface PrekeyBundle {
  identity: PublicIdentity;
  spk: { id: number; pub: string; sig: string };
  opk?: { id: number; pub: string };
}

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

const SPK_CONTEXT = utf8.encode("parley-spk-v1\0");

function spkSigned(id: number, pub: Uint8Array): Uint8Array {
  return concatBytes([SPK_CONTEXT, u32be(id), pub]);
}

function isId(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

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

function isB64(s: unknown, len: number): boolean {
  try {
    decodeB64(s, len);
    return true;
  } catch {
    return false;
  }
}

/** Shape and size check only (for the server): no signature verification. */
export function isPrekeyBundleShape(x: unknown): x is PrekeyBundle {
  if (typeof x !== "object" || x === null) return false;
  const b = x as Record<string, unknown>;
  const id = b.identity as Record<string, unknown> | undefined;
  const spk = b.spk as Record<string, unknown> | undefined;
  const opk = b.opk as Record<string, unknown> | undefined;
  if (typeof id !== "object" || id === null || typeof spk !== "object" || spk === null) return false;
  if (!isB64(id.sign, KEY_LEN) || !isB64(id.dh, KEY_LEN) || !isB64(id.sig, SIG_LEN)) return false;
  if (!isId(spk.id) || !isB64(spk.pub, KEY_LEN) || !isB64(spk.sig, SIG_LEN)) return false;
  if (
    opk !== undefined &&
    (typeof opk !== "object" || opk === null || !isId(opk.id) || !isB64(opk.pub, KEY_LEN))
  ) {
    return false;
  }
  return true;
}

/** Full check: shape, identity self-signature and signed-prekey signature. */
export async function verifyBundle(bundle: unknown): Promise<boolean> {
  if (!isPrekeyBundleShape(bundle)) return false;
  if (!(await verifyPublicIdentity(bundle.identity))) return false;
  return ed25519Verify(
    fromBase64(bundle.identity.sign),
    spkSigned(bundle.spk.id, fromBase64(bundle.spk.pub)),
    fromBase64(bundle.spk.sig),
  );
}

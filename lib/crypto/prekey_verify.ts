/**
 * Checking a prekey bundle without any private key: its shape and sizes, the identity's
 * self-signature and the signed prekey's signature. The one part of lib/crypto the server imports
 * besides password hashing (it refuses unsigned uploads); clients check fetched bundles with it.
 *
 * Signed-prekey signature: Ed25519(identity.sign.priv, "parley-spk-v1\0" ‖ u32be(id) ‖ spk.pub).
 *
 * Device keys (issue 33): besides the account's shared identity, each device has its own Ed25519
 * key, which the server records and which a removed device's row keeps.
 * - proof: Ed25519(device.priv, "parley-device-proof-v1\0" ‖ lp(user, u32be(device), nonce)), the
 *   nonce being the session's (from the hello reply): this session is that device;
 * - approval: Ed25519(approver device.priv, "parley-device-approval-v1\0" ‖ lp(user, new device
 *   key, decimal expiry ms)): an existing device lets a new one join the account until the expiry.
 */
import { concatBytes, fromBase64, utf8 } from "../common/bytes.ts";
import { decodeB64, type PublicIdentity, verifyPublicIdentity } from "./identity.ts";
import { ed25519Verify, KEY_LEN, lp, SIG_LEN, u32be } from "./primitives.ts";

/** The bundle the server stores and hands out. Strings are base64 of raw keys / signatures. */
export interface PrekeyBundle {
  identity: PublicIdentity;
  spk: { id: number; pub: string; sig: string };
  opk?: { id: number; pub: string };
}

const SPK_CONTEXT = utf8.encode("parley-spk-v1\0");
const PROOF_CONTEXT = utf8.encode("parley-device-proof-v1\0");
const APPROVAL_CONTEXT = utf8.encode("parley-device-approval-v1\0");

/** The bytes a device proof covers: this device of `user`, for the session with `nonce`. */
export function deviceProofSigned(user: string, device: number, nonce: string): Uint8Array {
  return concatBytes([PROOF_CONTEXT, lp([utf8.encode(user), u32be(device), utf8.encode(nonce)])]);
}

/** The bytes an approval covers: `newKey` (base64) may join `user`'s devices until `expires` (ms). */
export function approvalSigned(user: string, newKey: string, expires: number): Uint8Array {
  return concatBytes([
    APPROVAL_CONTEXT,
    lp([utf8.encode(user), decodeB64(newKey, KEY_LEN), utf8.encode(String(expires))]),
  ]);
}

/** True when `sig` (base64) is `key`'s (base64 Ed25519) signature over `msg`; false for any bad input. */
async function signedBy(key: unknown, msg: () => Uint8Array, sig: unknown): Promise<boolean> {
  try {
    return await ed25519Verify(decodeB64(key, KEY_LEN), msg(), decodeB64(sig, SIG_LEN));
  } catch {
    return false;
  }
}

/** Checks a device proof made with the device key `key`. */
export function verifyDeviceProof(
  key: unknown,
  p: { user: string; device: number; nonce: string },
  sig: unknown,
): Promise<boolean> {
  return signedBy(key, () => deviceProofSigned(p.user, p.device, p.nonce), sig);
}

/** Checks an approval signed by the existing device key `approver` (the expiry is the caller's check). */
export function verifyApproval(
  approver: unknown,
  a: { user: string; newKey: string; expires: number },
  sig: unknown,
): Promise<boolean> {
  return signedBy(approver, () => approvalSigned(a.user, a.newKey, a.expires), sig);
}

/** The bytes a signed prekey's signature covers. */
export function spkSigned(id: number, pub: Uint8Array): Uint8Array {
  return concatBytes([SPK_CONTEXT, u32be(id), pub]);
}

/** A u32 prekey id. */
export function isId(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
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

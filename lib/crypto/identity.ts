/**
 * Device identity: an Ed25519 signing key plus an X25519 DH key whose public half is signed by
 * the Ed25519 key. All fields are base64 of raw 32-byte keys / 64-byte signatures, so the whole
 * record is JSON and can be persisted as is (wrap it with `at_rest.ts`).
 *
 * Signature: Ed25519(sign.priv, "parley-identity-dh-v1\0" ‖ dh.pub).
 */

import { concatBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import {
  ed25519Generate,
  ed25519Sign,
  ed25519Verify,
  KEY_LEN,
  SIG_LEN,
  x25519Generate,
} from "./primitives.ts";

/** The public half of a device identity, as published in prekey bundles. */
export interface PublicIdentity {
  /** base64 raw Ed25519 public key */
  sign: string;
  /** base64 raw X25519 public key */
  dh: string;
  /** base64 Ed25519 signature over the DH key */
  sig: string;
}

/** A full identity key pair (keep private; persist wrapped). */
export interface IdentityKeyPair {
  /** base64 raw Ed25519 key pair */
  sign: { pub: string; priv: string };
  /** base64 raw X25519 key pair */
  dh: { pub: string; priv: string };
  /** base64 Ed25519 signature over the DH public key */
  sig: string;
}

const DH_SIG_CONTEXT = utf8.encode("parley-identity-dh-v1\0");

/** Decodes strict base64 of exactly `len` bytes, or throws `SyntaxError`. */
export function decodeB64(s: unknown, len: number, what = "key"): Uint8Array {
  if (typeof s !== "string" || s.length > 4 * Math.ceil(len / 3) + 4) {
    throw new SyntaxError(`Invalid ${what}`);
  }
  let b: Uint8Array;
  try {
    b = fromBase64(s);
  } catch {
    throw new SyntaxError(`Invalid ${what}`);
  }
  if (b.length !== len) throw new SyntaxError(`Invalid ${what} length`);
  return b;
}

/** Makes a new device identity. */
export async function generateIdentity(): Promise<IdentityKeyPair> {
  const s = await ed25519Generate();
  const d = await x25519Generate();
  const sig = await ed25519Sign(s.priv, concatBytes([DH_SIG_CONTEXT, d.pub]));
  return {
    sign: { pub: toBase64(s.pub), priv: toBase64(s.priv) },
    dh: { pub: toBase64(d.pub), priv: toBase64(d.priv) },
    sig: toBase64(sig),
  };
}

export function publicIdentity(id: IdentityKeyPair): PublicIdentity {
  return { sign: id.sign.pub, dh: id.dh.pub, sig: id.sig };
}

/** True when the shape is right and the DH key carries a valid signature by the signing key. */
export async function verifyPublicIdentity(p: PublicIdentity): Promise<boolean> {
  try {
    const sign = decodeB64(p.sign, KEY_LEN);
    const dh = decodeB64(p.dh, KEY_LEN);
    const sig = decodeB64(p.sig, SIG_LEN, "signature");
    return await ed25519Verify(sign, concatBytes([DH_SIG_CONTEXT, dh]), sig);
  } catch {
    return false;
  }
}

/** Same identity keys (the signature is not compared: Ed25519 signatures may differ yet both be valid). */
export function sameIdentity(a: PublicIdentity, b: PublicIdentity): boolean {
  return a.sign === b.sign && a.dh === b.dh;
}

/** Raw bytes of an identity used for associated data and safety numbers: sign.pub ‖ dh.pub (64 bytes). */
export function identityBytes(p: PublicIdentity): Uint8Array {
  return concatBytes([decodeB64(p.sign, KEY_LEN), decodeB64(p.dh, KEY_LEN)]);
}

/** Encodes a public identity as 128 bytes: sign ‖ dh ‖ sig. */
export function encodePublicIdentity(p: PublicIdentity): Uint8Array {
  return concatBytes([identityBytes(p), decodeB64(p.sig, SIG_LEN, "signature")]);
}

/** Inverse of `encodePublicIdentity` (the signature is not verified here). */
export function decodePublicIdentity(b: Uint8Array): PublicIdentity {
  if (b.length !== 128) throw new SyntaxError("Invalid identity encoding");
  return {
    sign: toBase64(b.subarray(0, 32)),
    dh: toBase64(b.subarray(32, 64)),
    sig: toBase64(b.subarray(64, 128)),
  };
}

/**
 * X3DH key agreement (signal.org/docs/specifications/x3dh) with X25519 and HKDF-SHA256.
 *
 *   DH1 = DH(IK_A, SPK_B)  DH2 = DH(EK_A, IK_B)  DH3 = DH(EK_A, SPK_B)  DH4 = DH(EK_A, OPK_B)
 *   SK  = HKDF-SHA256(ikm = 0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], salt = 0×32, info = "Parley_X3DH_v1", 32)
 *   AD  = IK_A.sign ‖ IK_A.dh ‖ IK_B.sign ‖ IK_B.dh   (128 bytes, initiator first)
 *
 * The initiator refuses a bundle whose identity or prekey signature does not verify
 * (`BadBundleError`); every DH rejects an all-zero output.
 */

import { concatBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import { identityBytes, type IdentityKeyPair, type PublicIdentity, publicIdentity } from "./identity.ts";
import type { OneTimePrekey, PrekeyBundle, SignedPrekey } from "./prekeys.ts";
import { verifyBundle } from "./prekey_verify.ts";
import { hkdfSha256, x25519, x25519Generate } from "./primitives.ts";

/** A prekey bundle failed verification (bad signature or malformed). */
export class BadBundleError extends Error {
  constructor(message = "Prekey bundle signature is invalid") {
    super(message);
    this.name = "BadBundleError";
  }
}

/** What the initiator sends so the responder can compute the same secret. */
export interface X3dhHeader {
  identity: PublicIdentity;
  /** base64 ephemeral X25519 public key */
  ek: string;
  spkId: number;
  opkId?: number;
}

const F = new Uint8Array(32).fill(0xff);
const INFO = utf8.encode("Parley_X3DH_v1");

function kdf(dhs: Uint8Array[]): Promise<Uint8Array> {
  return hkdfSha256(concatBytes([F, ...dhs]), new Uint8Array(32), INFO, 32);
}

/** Initiator: verifies the bundle, then derives SK and AD. */
export async function x3dhInitiate(
  me: IdentityKeyPair,
  bundle: PrekeyBundle,
): Promise<{ sk: Uint8Array; ad: Uint8Array; header: X3dhHeader }> {
  if (!(await verifyBundle(bundle))) throw new BadBundleError();
  const ek = await x25519Generate();
  const spk = fromBase64(bundle.spk.pub);
  const dhs = [
    await x25519(fromBase64(me.dh.priv), spk),
    await x25519(ek.priv, fromBase64(bundle.identity.dh)),
    await x25519(ek.priv, spk),
  ];
  if (bundle.opk) dhs.push(await x25519(ek.priv, fromBase64(bundle.opk.pub)));
  const sk = await kdf(dhs);
  const myPub = publicIdentity(me);
  const ad = concatBytes([identityBytes(myPub), identityBytes(bundle.identity)]);
  const header: X3dhHeader = { identity: myPub, ek: toBase64(ek.pub), spkId: bundle.spk.id };
  if (bundle.opk) header.opkId = bundle.opk.id;
  return { sk, ad, header };
}

/** Responder: derives SK and AD from the header and the matching private prekeys. */
export async function x3dhRespond(
  me: IdentityKeyPair,
  spk: SignedPrekey,
  opk: OneTimePrekey | undefined,
  header: X3dhHeader,
): Promise<{ sk: Uint8Array; ad: Uint8Array }> {
  const ek = fromBase64(header.ek);
  const spkPriv = fromBase64(spk.priv);
  const dhs = [
    await x25519(spkPriv, fromBase64(header.identity.dh)),
    await x25519(fromBase64(me.dh.priv), ek),
    await x25519(spkPriv, ek),
  ];
  if (header.opkId !== undefined) {
    if (!opk || opk.id !== header.opkId) throw new Error("One-time prekey not found");
    dhs.push(await x25519(fromBase64(opk.priv), ek));
  }
  const sk = await kdf(dhs);
  const ad = concatBytes([identityBytes(header.identity), identityBytes(publicIdentity(me))]);
  return { sk, ad };
}

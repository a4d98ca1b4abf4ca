/**
 * The link channel between a device one has and a new one (issue 9). The old device shows a
 * one-time code of 160 random bits (32 base32 letters in groups of four); both ends derive from it,
 * with HKDF-SHA256 and distinct labels, a channel id (what the server relays by; it cannot get the
 * code back from it) and an AES-256-GCM key. Every message is sealed with a fresh random nonce and
 * AD = label ‖ channel id ‖ direction ("old→new" or "new→old"), so a message cannot be reflected
 * back or moved to another channel. With 160 bits there is nothing to guess offline, so no PAKE.
 *
 * Device keys (issue 33): each device's own Ed25519 key pair, the signing side of the proofs and
 * approvals that prekey_verify.ts defines and the server checks. Over the channel, the old device
 * approves the new device's key (`signApproval`); the new one shows the approval when it publishes.
 */
import { concatBytes, fromBase64, toBase64, toHex, utf8, utf8Strict } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  DecryptError,
  ed25519Generate,
  ed25519Sign,
  GCM_NONCE_LEN,
  hkdfSha256,
} from "./primitives.ts";
import { approvalSigned, deviceProofSigned } from "./prekey_verify.ts";

/** A device's own Ed25519 key pair (base64 raw halves). */
export interface DeviceKey {
  /** base64 raw public key */
  pub: string;
  /** base64 raw private key */
  priv: string;
}

/** How long an approval made over a link channel is good for (an hour: two machines' clocks differ). */
export const APPROVAL_TTL_MS = 60 * 60_000;

export async function newDeviceKey(): Promise<DeviceKey> {
  const k = await ed25519Generate();
  return { pub: toBase64(k.pub), priv: toBase64(k.priv) };
}

/** Signs that this session (its hello `nonce`) is device `device` of `user`. */
export async function signDeviceProof(
  k: DeviceKey,
  user: string,
  device: number,
  nonce: string,
): Promise<string> {
  return toBase64(await ed25519Sign(fromBase64(k.priv), deviceProofSigned(user, device, nonce)));
}

/** An existing device's approval of `newKey` as a device of `user`, good until `expires`. */
export async function signApproval(
  k: DeviceKey,
  user: string,
  newKey: string,
  expires: number,
): Promise<string> {
  return toBase64(await ed25519Sign(fromBase64(k.priv), approvalSigned(user, newKey, expires)));
}

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no I, O, 0, 1: read aloud and typed by people
const CODE_BYTES = 20;
const LABEL = "parley-device-link-v1";

export type LinkDirection = "old→new" | "new→old";

export interface LinkKeys {
  /** 32 hex digits: the server's name for the channel. */
  channel: string;
  key: Uint8Array;
}

/** A fresh one-time code, e.g. "ABCD-EFGH-…" (8 groups of 4). */
export function newLinkCode(rand: RandomBytes = cryptoRandom): string {
  const b = rand(CODE_BYTES);
  let bits = 0, acc = 0, out = "";
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join("-");
}

/** The code's canonical bytes: letters only, upper case; null when it is not a link code. */
export function parseLinkCode(code: string): Uint8Array | null {
  const s = code.toUpperCase().replace(/[\s-]/g, "");
  if (s.length !== 32 || [...s].some((c) => !ALPHABET.includes(c))) return null;
  return utf8.encode(s);
}

export async function linkKeys(code: Uint8Array): Promise<LinkKeys> {
  const salt = utf8.encode(LABEL);
  const channel = await hkdfSha256(code, salt, utf8.encode("channel"), 16);
  const key = await hkdfSha256(code, salt, utf8.encode("key"), 32);
  return { channel: toHex(channel), key };
}

function ad(channel: string, dir: LinkDirection): Uint8Array {
  return utf8.encode(`${LABEL}\0${channel}\0${dir}`);
}

export async function sealLink(
  k: LinkKeys,
  dir: LinkDirection,
  value: unknown,
  rand: RandomBytes = cryptoRandom,
): Promise<Uint8Array> {
  const nonce = rand(GCM_NONCE_LEN);
  const ct = await aesGcmEncrypt(k.key, nonce, utf8.encode(JSON.stringify(value)), ad(k.channel, dir));
  return concatBytes([nonce, ct]);
}

/** Opens a link message; throws `DecryptError` when it was not sealed with this code and direction. */
export async function openLink<T>(k: LinkKeys, dir: LinkDirection, sealed: Uint8Array): Promise<T> {
  if (sealed.length < GCM_NONCE_LEN + 16) throw new DecryptError("The link message is too short");
  const pt = await aesGcmDecrypt(
    k.key,
    sealed.subarray(0, GCM_NONCE_LEN),
    sealed.subarray(GCM_NONCE_LEN),
    ad(k.channel, dir),
  );
  try {
    return JSON.parse(utf8Strict.decode(pt)) as T;
  } catch {
    throw new DecryptError("The link message is not JSON");
  }
}

/**
 * The Double Ratchet (signal.org/docs/specifications/doubleratchet) over X25519, HKDF-SHA256,
 * HMAC-SHA256 and AES-256-GCM. Pure functions over JSON state: `ratchetEncrypt` and
 * `ratchetDecrypt` never mutate their input and return a new state, so a failed decrypt leaves the
 * stored state untouched; the caller commits the returned state together with the plaintext.
 *
 * KDF_RK(rk, dh)  = HKDF-SHA256(ikm = dh, salt = rk, info = "Parley_Ratchet_v1", 64) → rk', ck
 * KDF_CK(ck)      = HMAC-SHA256(ck, 0x01) → mk, HMAC-SHA256(ck, 0x02) → ck'
 * message keys    = HKDF-SHA256(mk, zero salt, "Parley_MessageKeys_v1", 44) → AES key 32 ‖ nonce 12
 * AEAD AD         = session AD (both identities) ‖ header ‖ caller AD
 *
 * Wire format v1 (ratchet message):
 *   u8 version = 1 | 32 sender ratchet public key | u32be pn | u32be n | AES-GCM ciphertext ‖ tag(16)
 * The first 41 bytes are the header.
 *
 * Limits: a header more than MAX_SKIP messages ahead of the receiving chain is rejected before any
 * key is derived; at most MAX_STORED_SKIPPED skipped keys are kept (oldest dropped), each for at
 * most SKIPPED_TTL_MS.
 */

import { concatBytes, equalBytes, fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  DecryptError,
  GCM_TAG_LEN,
  hkdfSha256,
  hmacSync,
  KEY_LEN,
  x25519,
  x25519Generate,
} from "./primitives.ts";

export const MAX_SKIP = 1000;
export const MAX_STORED_SKIPPED = 2000;
export const SKIPPED_TTL_MS = 7 * 24 * 3600 * 1000;
export const RATCHET_VERSION = 1;
export const HEADER_LEN = 41;

/** A message that was already decrypted (or whose key expired) arrived again. */
export class ReplayError extends DecryptError {
  constructor(message = "Message was already received") {
    super(message);
    this.name = "ReplayError";
  }
}

/** A header claims to be too far ahead; rejected without deriving keys. */
export class TooFarAheadError extends DecryptError {
  constructor(message = "Message is too far ahead of the chain") {
    super(message);
    this.name = "TooFarAheadError";
  }
}

export interface SkippedKey {
  /** base64 ratchet public key of the sending chain */
  dh: string;
  n: number;
  /** base64 message key */
  mk: string;
  /** when stored, ms since epoch */
  at: number;
}

/** JSON-serializable ratchet state. */
export interface RatchetState {
  v: 1;
  /** base64 session associated data (both identities) */
  ad: string;
  rk: string;
  dhs: { pub: string; priv: string };
  dhr: string | null;
  cks: string | null;
  ckr: string | null;
  ns: number;
  nr: number;
  pn: number;
  skipped: SkippedKey[];
}

export interface RatchetHeader {
  dh: Uint8Array;
  pn: number;
  n: number;
}

/** Counters for tests and benchmarks (how many chain steps and DH ratchet steps ran). */
export const ratchetCounters = { chainSteps: 0, dhSteps: 0 };

const RK_INFO = utf8.encode("Parley_Ratchet_v1");
const MK_INFO = utf8.encode("Parley_MessageKeys_v1");
const ZERO32 = new Uint8Array(32);
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);

async function kdfRk(rk: Uint8Array, dhOut: Uint8Array): Promise<[Uint8Array, Uint8Array]> {
  const out = await hkdfSha256(dhOut, rk, RK_INFO, 64);
  return [out.slice(0, 32), out.slice(32)];
}

/** KDF_CK: the message key and the next chain key. */
export function kdfCk(ck: Uint8Array): Promise<{ mk: Uint8Array; ck: Uint8Array }> {
  ratchetCounters.chainSteps++;
  return Promise.resolve({ mk: hmacSync("sha256", ck, ONE), ck: hmacSync("sha256", ck, TWO) });
}

/** Expands a message key: HKDF-SHA256(mk, zero salt, info, length). */
export function expandMessageKey(
  mk: Uint8Array,
  info: Uint8Array = MK_INFO,
  length = 44,
): Promise<Uint8Array> {
  return hkdfSha256(mk, ZERO32, info, length);
}

async function sealWith(mk: Uint8Array, pt: Uint8Array, ad: Uint8Array): Promise<Uint8Array> {
  const km = await expandMessageKey(mk);
  return aesGcmEncrypt(km.subarray(0, 32), km.subarray(32, 44), pt, ad);
}

async function openWith(mk: Uint8Array, ct: Uint8Array, ad: Uint8Array): Promise<Uint8Array> {
  const km = await expandMessageKey(mk);
  return aesGcmDecrypt(km.subarray(0, 32), km.subarray(32, 44), ct, ad);
}

export function encodeHeader(h: RatchetHeader): Uint8Array {
  const b = new Uint8Array(HEADER_LEN);
  const dv = new DataView(b.buffer);
  b[0] = RATCHET_VERSION;
  b.set(h.dh, 1);
  dv.setUint32(33, h.pn);
  dv.setUint32(37, h.n);
  return b;
}

/** Parses a ratchet message into header and ciphertext; throws `SyntaxError` when malformed. */
export function decodeRatchetMessage(
  msg: Uint8Array,
): { header: RatchetHeader; headerBytes: Uint8Array; ct: Uint8Array } {
  if (msg.length < HEADER_LEN + GCM_TAG_LEN) throw new SyntaxError("Ratchet message too short");
  if (msg[0] !== RATCHET_VERSION) throw new SyntaxError("Unknown ratchet message version");
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    header: { dh: msg.slice(1, 33), pn: dv.getUint32(33), n: dv.getUint32(37) },
    headerBytes: msg.slice(0, HEADER_LEN),
    ct: msg.subarray(HEADER_LEN),
  };
}

/** Initiator side (Alice) after X3DH: `sk` the shared secret, `theirRatchetPub` Bob's signed prekey. */
export async function ratchetInitInitiator(
  sk: Uint8Array,
  ad: Uint8Array,
  theirRatchetPub: Uint8Array,
): Promise<RatchetState> {
  const dhs = await x25519Generate();
  const [rk, cks] = await kdfRk(sk, await x25519(dhs.priv, theirRatchetPub));
  return {
    v: 1,
    ad: toBase64(ad),
    rk: toBase64(rk),
    dhs: { pub: toBase64(dhs.pub), priv: toBase64(dhs.priv) },
    dhr: toBase64(theirRatchetPub),
    cks: toBase64(cks),
    ckr: null,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

/** Responder side (Bob) after X3DH: his signed prekey pair is the first ratchet key. */
export function ratchetInitResponder(
  sk: Uint8Array,
  ad: Uint8Array,
  myRatchetPair: { pub: string; priv: string },
): RatchetState {
  return {
    v: 1,
    ad: toBase64(ad),
    rk: toBase64(sk),
    dhs: { pub: myRatchetPair.pub, priv: myRatchetPair.priv },
    dhr: null,
    cks: null,
    ckr: null,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

function cloneState(s: RatchetState): RatchetState {
  return { ...s, dhs: { ...s.dhs }, skipped: s.skipped.map((k) => ({ ...k })) };
}

/** Encrypts one message; returns the new state and the wire message. */
export async function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): Promise<{ state: RatchetState; message: Uint8Array }> {
  if (state.cks === null) throw new Error("Session cannot send before receiving the first message");
  const s = cloneState(state);
  const { mk, ck } = await kdfCk(fromBase64(state.cks));
  s.cks = toBase64(ck);
  const header = encodeHeader({ dh: fromBase64(s.dhs.pub), pn: s.pn, n: s.ns });
  s.ns++;
  const ct = await sealWith(mk, plaintext, concatBytes([fromBase64(s.ad), header, ad]));
  return { state: s, message: concatBytes([header, ct]) };
}

async function skipMessageKeys(s: RatchetState, until: number, now: number): Promise<void> {
  if (s.ckr === null) return;
  let ck = fromBase64(s.ckr);
  const dh = s.dhr!;
  while (s.nr < until) {
    const r = await kdfCk(ck);
    ck = r.ck;
    s.skipped.push({ dh, n: s.nr, mk: toBase64(r.mk), at: now });
    s.nr++;
  }
  s.ckr = toBase64(ck);
  if (s.skipped.length > MAX_STORED_SKIPPED) s.skipped.splice(0, s.skipped.length - MAX_STORED_SKIPPED);
}

async function dhRatchet(s: RatchetState, theirPub: Uint8Array): Promise<void> {
  ratchetCounters.dhSteps++;
  s.pn = s.ns;
  s.ns = 0;
  s.nr = 0;
  s.dhr = toBase64(theirPub);
  const [rk1, ckr] = await kdfRk(fromBase64(s.rk), await x25519(fromBase64(s.dhs.priv), theirPub));
  const next = await x25519Generate();
  s.dhs = { pub: toBase64(next.pub), priv: toBase64(next.priv) };
  const [rk2, cks] = await kdfRk(rk1, await x25519(next.priv, theirPub));
  s.rk = toBase64(rk2);
  s.ckr = toBase64(ckr);
  s.cks = toBase64(cks);
}

/**
 * Decrypts one message on a copy of the state. Throws `SyntaxError` (malformed), `ReplayError`
 * (already received), `TooFarAheadError` (beyond MAX_SKIP, checked before deriving anything) or
 * `DecryptError`; in every failure case the caller's state is unchanged.
 */
export async function ratchetDecrypt(
  state: RatchetState,
  message: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  now: number = Date.now(),
): Promise<{ state: RatchetState; plaintext: Uint8Array }> {
  const { header, headerBytes, ct } = decodeRatchetMessage(message);
  const fullAd = concatBytes([fromBase64(state.ad), headerBytes, ad]);
  const s = cloneState(state);
  s.skipped = s.skipped.filter((k) => now - k.at < SKIPPED_TTL_MS);
  const dhB64 = toBase64(header.dh);
  const idx = s.skipped.findIndex((k) => k.n === header.n && k.dh === dhB64);
  if (idx >= 0) {
    const plaintext = await openWith(fromBase64(s.skipped[idx]!.mk), ct, fullAd);
    s.skipped.splice(idx, 1);
    return { state: s, plaintext };
  }
  const sameChain = s.dhr !== null && equalBytes(fromBase64(s.dhr), header.dh);
  if (sameChain) {
    if (header.n < s.nr) throw new ReplayError();
    if (header.n - s.nr > MAX_SKIP) throw new TooFarAheadError();
  } else {
    if (s.ckr !== null && header.pn > s.nr && header.pn - s.nr > MAX_SKIP) throw new TooFarAheadError();
    if (header.n > MAX_SKIP) throw new TooFarAheadError();
    if (header.dh.length !== KEY_LEN) throw new SyntaxError("Bad ratchet key");
    await skipMessageKeys(s, header.pn, now);
    await dhRatchet(s, header.dh);
  }
  await skipMessageKeys(s, header.n, now);
  const { mk, ck } = await kdfCk(fromBase64(s.ckr!));
  s.ckr = toBase64(ck);
  s.nr++;
  const plaintext = await openWith(mk, ct, fullAd);
  return { state: s, plaintext };
}

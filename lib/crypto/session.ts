/**
 * One pairwise session = X3DH to start + the Double Ratchet. Pure functions over JSON state, each
 * returning a new state (inputs are never mutated). The initiator attaches its X3DH header to every
 * message until it has decrypted a reply, so any of its first messages can open the session.
 *
 * Wire format v1 (session message):
 *   u8 version = 1 | u8 type (1 = normal, 2 = prekey)
 *   [type 2 only: initiator identity (128 = sign 32 ‖ dh 32 ‖ sig 64) | ephemeral 32 | u32be spkId |
 *                 u8 hasOpk (0/1) | u32be opkId (0 when absent)]
 *   | ratchet message (see ratchet.ts)
 * Everything before the ratchet message, then the caller's AD, is authenticated as ratchet AD.
 */

import { concatBytes, fromBase64, toBase64 } from "../common/bytes.ts";
import {
  decodePublicIdentity,
  encodePublicIdentity,
  type IdentityKeyPair,
  type PublicIdentity,
  verifyPublicIdentity,
} from "./identity.ts";
import type { OneTimePrekey, PrekeyBundle, SignedPrekey } from "./prekeys.ts";
import { DecryptError, u32be } from "./primitives.ts";
import {
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInitInitiator,
  ratchetInitResponder,
  type RatchetState,
} from "./ratchet.ts";
import { type X3dhHeader, x3dhInitiate, x3dhRespond } from "./x3dh.ts";

export const SESSION_VERSION = 1;
const PREKEY_HEADER_LEN = 2 + 128 + 32 + 4 + 1 + 4;

export interface SessionState {
  v: 1;
  peer: PublicIdentity;
  /** base64 X3DH ephemeral key that opened this session: identifies it */
  base: string;
  ratchet: RatchetState;
  /** initiator only, until the first reply: the X3DH header sent with every message */
  pending?: X3dhHeader;
}

export type ParsedSessionMessage =
  | { type: "normal"; prefix: Uint8Array; ratchet: Uint8Array }
  | { type: "prekey"; prefix: Uint8Array; ratchet: Uint8Array; x3dh: X3dhHeader };

/** Lookup of the responder's private prekeys by id. */
export interface PrekeyLookup {
  spk(id: number): SignedPrekey | undefined;
  opk(id: number): OneTimePrekey | undefined;
}

function encodePrefix(pending: X3dhHeader | undefined): Uint8Array {
  if (!pending) return Uint8Array.of(SESSION_VERSION, 1);
  return concatBytes([
    Uint8Array.of(SESSION_VERSION, 2),
    encodePublicIdentity(pending.identity),
    fromBase64(pending.ek),
    u32be(pending.spkId),
    Uint8Array.of(pending.opkId === undefined ? 0 : 1),
    u32be(pending.opkId ?? 0),
  ]);
}

/** Parses the session framing; throws `SyntaxError` when malformed. */
export function parseSessionMessage(msg: Uint8Array): ParsedSessionMessage {
  if (msg.length < 2 || msg[0] !== SESSION_VERSION) throw new SyntaxError("Unknown session message version");
  if (msg[1] === 1) return { type: "normal", prefix: msg.slice(0, 2), ratchet: msg.subarray(2) };
  if (msg[1] !== 2) throw new SyntaxError("Unknown session message type");
  if (msg.length < PREKEY_HEADER_LEN) throw new SyntaxError("Prekey message too short");
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const hasOpk = msg[166];
  if (hasOpk !== 0 && hasOpk !== 1) throw new SyntaxError("Bad prekey flag");
  const x3dh: X3dhHeader = {
    identity: decodePublicIdentity(msg.subarray(2, 130)),
    ek: toBase64(msg.subarray(130, 162)),
    spkId: dv.getUint32(162),
  };
  if (hasOpk === 1) x3dh.opkId = dv.getUint32(167);
  else if (dv.getUint32(167) !== 0) throw new SyntaxError("Bad prekey id");
  return {
    type: "prekey",
    prefix: msg.slice(0, PREKEY_HEADER_LEN),
    ratchet: msg.subarray(PREKEY_HEADER_LEN),
    x3dh,
  };
}

/** Starts a session from the peer's bundle (throws `BadBundleError` on a bad signature). */
export async function initiateSession(
  me: IdentityKeyPair,
  bundle: PrekeyBundle,
): Promise<{ state: SessionState }> {
  const { sk, ad, header } = await x3dhInitiate(me, bundle);
  const ratchet = await ratchetInitInitiator(sk, ad, fromBase64(bundle.spk.pub));
  return { state: { v: 1, peer: bundle.identity, base: header.ek, ratchet, pending: header } };
}

/** Encrypts a message in the session (a prekey message while the initiator awaits a reply). */
export async function sessionEncrypt(
  state: SessionState,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): Promise<{ state: SessionState; message: Uint8Array }> {
  const prefix = encodePrefix(state.pending);
  const r = await ratchetEncrypt(state.ratchet, plaintext, concatBytes([prefix, ad]));
  return { state: { ...state, ratchet: r.state }, message: concatBytes([prefix, r.message]) };
}

/** Decrypts within an existing session. */
export async function sessionDecrypt(
  state: SessionState,
  message: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  now: number = Date.now(),
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  const p = parseSessionMessage(message);
  if (p.type === "prekey" && p.x3dh.ek !== state.base) {
    throw new DecryptError("Prekey message for another session");
  }
  const r = await ratchetDecrypt(state.ratchet, p.ratchet, concatBytes([p.prefix, ad]), now);
  const next: SessionState = { ...state, ratchet: r.state };
  delete next.pending;
  return { state: next, plaintext: r.plaintext };
}

/**
 * Responder: opens a new session from a prekey message and decrypts it. The caller must delete the
 * one-time prekey `usedOpkId` when it commits the returned state.
 */
export async function acceptSession(
  me: IdentityKeyPair,
  prekeys: PrekeyLookup,
  message: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  now: number = Date.now(),
): Promise<{ state: SessionState; plaintext: Uint8Array; peer: PublicIdentity; usedOpkId?: number }> {
  const p = parseSessionMessage(message);
  if (p.type !== "prekey") throw new DecryptError("No session with this peer");
  if (!(await verifyPublicIdentity(p.x3dh.identity))) {
    throw new DecryptError("Sender identity signature is invalid");
  }
  const spk = prekeys.spk(p.x3dh.spkId);
  if (!spk) throw new DecryptError("Unknown signed prekey");
  const opk = p.x3dh.opkId === undefined ? undefined : prekeys.opk(p.x3dh.opkId);
  if (p.x3dh.opkId !== undefined && !opk) throw new DecryptError("Unknown or used one-time prekey");
  const { sk, ad: sad } = await x3dhRespond(me, spk, opk, p.x3dh);
  const ratchet = ratchetInitResponder(sk, sad, { pub: spk.pub, priv: spk.priv });
  const r = await ratchetDecrypt(ratchet, p.ratchet, concatBytes([p.prefix, ad]), now);
  const state: SessionState = { v: 1, peer: p.x3dh.identity, base: p.x3dh.ek, ratchet: r.state };
  const out: { state: SessionState; plaintext: Uint8Array; peer: PublicIdentity; usedOpkId?: number } = {
    state,
    plaintext: r.plaintext,
    peer: p.x3dh.identity,
  };
  if (p.x3dh.opkId !== undefined) out.usedOpkId = p.x3dh.opkId;
  return out;
}

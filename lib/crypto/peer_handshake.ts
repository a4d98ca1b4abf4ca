/**
 * The signed ephemeral key exchange that opens a server-less channel between two device identities
 * (peer mode; the direct file path). Pure: bytes in, bytes out, no sockets.
 *
 *   1 initiator → responder   u8 1 | lp(purpose, eph_I, identity_I, name_I)
 *   2 responder → initiator   u8 2 | lp(eph_R, identity_R, name_R, sig_R)
 *   3 initiator → responder   u8 3 | lp(sig_I)
 *
 *   T     = SHA-256(lp(LABEL, purpose, eph_I, identity_I, name_I, eph_R, identity_R, name_R))
 *   sig_R = Ed25519(identity_R.sign, lp("responder", T))   sig_I = Ed25519(identity_I.sign, lp("initiator", T))
 *   okm   = HKDF-SHA256(X25519(eph, eph'), salt = T, info = "parley-peer-keys-v1", 64)
 *           → AES-256-GCM key initiator→responder (first 32 bytes), responder→initiator (last 32)
 *   record = AES-256-GCM(key, nonce = 0⁴ ‖ u64be(counter), plaintext, AD = "parley-peer-record-v1")
 *
 * identity = sign ‖ dh ‖ sig (128 bytes, identity.ts); its DH signature is verified too. The purpose
 * ("parley-peer-v1", "parley-file-v1") is in T, so a channel opened for one use is refused by a
 * responder that accepts only another. Each direction counts its records from 0: a replayed,
 * reordered, dropped or altered record fails `open` (DecryptError) and the channel refuses
 * everything after that. `expect` makes the handshake fail unless the peer holds that identity.
 * Every failure of the peer is a `HandshakeError`.
 */

import { concatBytes, fromBase64, utf8, utf8Strict } from "../common/bytes.ts";
import {
  decodePublicIdentity,
  encodePublicIdentity,
  type IdentityKeyPair,
  type PublicIdentity,
  publicIdentity,
  sameIdentity,
  verifyPublicIdentity,
} from "./identity.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  DecryptError,
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  lp,
  sha256,
  x25519,
  x25519Generate,
} from "./primitives.ts";

const LABEL = utf8.encode("parley-peer-handshake-v1");
const KEY_INFO = utf8.encode("parley-peer-keys-v1");
const RECORD_AD = utf8.encode("parley-peer-record-v1");
const MAX_NAME = 128;
const MAX_PURPOSE = 64;

/** The peer broke the handshake: malformed message, bad signature, unexpected identity or purpose. */
export class HandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HandshakeError";
  }
}

export interface HandshakeOptions {
  identity: IdentityKeyPair;
  /** the name this side claims (shown to the peer, bound into the transcript) */
  name?: string;
  /** fail unless the peer proves this identity */
  expect?: PublicIdentity;
}

/** An authenticated, encrypted channel state: seal what you send, open what you receive, in order. */
export interface SecureChannel {
  peer: PublicIdentity;
  peerName: string;
  purpose: string;
  /** transcript hash (unique per handshake; usable as a channel binding) */
  transcript: Uint8Array;
  seal(plaintext: Uint8Array): Promise<Uint8Array>;
  open(record: Uint8Array): Promise<Uint8Array>;
}

/** Splits `u8 type | lp(...)` into exactly `n` fields, or throws HandshakeError. */
function parse(msg: Uint8Array, type: number, n: number): Uint8Array[] {
  if (msg.length < 1 || msg[0] !== type) throw new HandshakeError(`Expected handshake message ${type}`);
  const out: Uint8Array[] = [];
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  let o = 1;
  while (o < msg.length) {
    if (o + 4 > msg.length) throw new HandshakeError("Truncated handshake field");
    const len = dv.getUint32(o);
    o += 4;
    if (len > msg.length - o) throw new HandshakeError("Truncated handshake field");
    out.push(msg.subarray(o, o + len));
    o += len;
  }
  if (out.length !== n) throw new HandshakeError("Wrong number of handshake fields");
  return out;
}

function text(b: Uint8Array, max: number, what: string): string {
  if (b.length > max) throw new HandshakeError(`${what} too long`);
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new HandshakeError(`${what} is not UTF-8`);
  }
}

async function peerIdentity(b: Uint8Array, expect: PublicIdentity | undefined): Promise<PublicIdentity> {
  let id: PublicIdentity;
  try {
    id = decodePublicIdentity(b);
  } catch {
    throw new HandshakeError("Malformed identity");
  }
  if (!(await verifyPublicIdentity(id))) throw new HandshakeError("Identity signature is invalid");
  if (expect && !sameIdentity(id, expect)) throw new HandshakeError("The peer is not the expected identity");
  return id;
}

function eph(b: Uint8Array): Uint8Array {
  if (b.length !== 32) throw new HandshakeError("Malformed ephemeral key");
  return b;
}

const role = (r: "initiator" | "responder", t: Uint8Array) => lp([utf8.encode(r), t]);

function nonce(counter: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(counter));
  return n;
}

async function channel(
  shared: Uint8Array,
  t: Uint8Array,
  initiator: boolean,
  peer: PublicIdentity,
  peerName: string,
  purpose: string,
): Promise<SecureChannel> {
  const okm = await hkdfSha256(shared, t, KEY_INFO, 64);
  const sendKey = initiator ? okm.slice(0, 32) : okm.slice(32);
  const recvKey = initiator ? okm.slice(32) : okm.slice(0, 32);
  let sent = 0, received = 0, broken = false;
  return {
    peer,
    peerName,
    purpose,
    transcript: t,
    seal: (p) => aesGcmEncrypt(sendKey, nonce(sent++), p, RECORD_AD),
    async open(r) {
      if (broken) throw new DecryptError("Channel already failed");
      try {
        const p = await aesGcmDecrypt(recvKey, nonce(received), r, RECORD_AD);
        received++;
        return p;
      } catch (e) {
        broken = true;
        throw e;
      }
    },
  };
}

/** Initiator step 1: the first message, and what to do with the responder's reply. */
export async function initiateHandshake(o: HandshakeOptions & { purpose: string }): Promise<{
  hello: Uint8Array;
  /** Checks message 2; returns message 3 to send and the channel. */
  finish(reply: Uint8Array): Promise<{ message: Uint8Array; channel: SecureChannel }>;
}> {
  const e = await x25519Generate();
  const purpose = utf8.encode(o.purpose);
  if (purpose.length > MAX_PURPOSE) throw new RangeError("Purpose too long");
  const name = utf8.encode(o.name ?? "");
  const me = encodePublicIdentity(publicIdentity(o.identity));
  const hello = concatBytes([Uint8Array.of(1), lp([purpose, e.pub, me, name])]);
  return {
    hello,
    async finish(reply) {
      const [ephR, idR, nameR, sigR] = parse(reply, 2, 4) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      const peer = await peerIdentity(idR, o.expect);
      const peerName = text(nameR, MAX_NAME, "Name");
      const t = await sha256(lp([LABEL, purpose, e.pub, me, name, eph(ephR), idR, nameR]));
      if (!(await ed25519Verify(fromBase64(peer.sign), role("responder", t), sigR))) {
        throw new HandshakeError("Responder signature is invalid");
      }
      let shared: Uint8Array;
      try {
        shared = await x25519(e.priv, ephR);
      } catch {
        throw new HandshakeError("Invalid ephemeral key");
      }
      const sig = await ed25519Sign(fromBase64(o.identity.sign.priv), role("initiator", t));
      return {
        message: concatBytes([Uint8Array.of(3), lp([sig])]),
        channel: await channel(shared, t, true, peer, peerName, o.purpose),
      };
    },
  };
}

/**
 * Responder: checks message 1 (purpose among `purposes`), returns message 2 and a function taking
 * message 3 that yields the channel.
 */
export async function respondHandshake(
  o: HandshakeOptions & { purposes: readonly string[] },
  hello: Uint8Array,
): Promise<{ reply: Uint8Array; finish(message: Uint8Array): Promise<SecureChannel> }> {
  const [purposeB, ephI, idI, nameI] = parse(hello, 1, 4) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const purpose = text(purposeB, MAX_PURPOSE, "Purpose");
  if (!o.purposes.includes(purpose)) {
    throw new HandshakeError(`Purpose ${JSON.stringify(purpose)} is not served`);
  }
  const peer = await peerIdentity(idI, o.expect);
  const peerName = text(nameI, MAX_NAME, "Name");
  const e = await x25519Generate();
  let shared: Uint8Array;
  try {
    shared = await x25519(e.priv, eph(ephI));
  } catch {
    throw new HandshakeError("Invalid ephemeral key");
  }
  const me = encodePublicIdentity(publicIdentity(o.identity));
  const name = utf8.encode(o.name ?? "");
  const t = await sha256(lp([LABEL, purposeB, ephI, idI, nameI, e.pub, me, name]));
  const sig = await ed25519Sign(fromBase64(o.identity.sign.priv), role("responder", t));
  return {
    reply: concatBytes([Uint8Array.of(2), lp([e.pub, me, name, sig])]),
    async finish(message) {
      const [sigI] = parse(message, 3, 1) as [Uint8Array];
      if (!(await ed25519Verify(fromBase64(peer.sign), role("initiator", t), sigI))) {
        throw new HandshakeError("Initiator signature is invalid");
      }
      return channel(shared, t, false, peer, peerName, purpose);
    },
  };
}

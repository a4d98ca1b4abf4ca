/**
 * Sender keys for rooms. Each member has its own sending chain per room (chain key + Ed25519
 * signing key), handed to every other member in a `SenderKeyDistribution` over the pairwise DM
 * sessions. Message keys: KDF_CK as in ratchet.ts (HMAC-SHA256 0x01 / 0x02), expanded with
 * HKDF-SHA256(mk, zero salt, "Parley_RoomKeys_v1", 44) into an AES-256-GCM key and nonce.
 *
 * Rotation: `markRotate()` after any leave or kick, and `needsRotation()` turns true after
 * ROOM_ROTATE_EVERY messages; `encryptRoom()` refuses to send until `rotateSenderKey()` made a
 * fresh chain (then distribute it again). Receivers reject jumps over ROOM_MAX_SKIP before
 * deriving keys; every iteration below the chain position that is not a stored skipped key counts
 * as seen, so replays are rejected.
 *
 * Wire format v1 (room message):
 *   u8 version = 1 | u8 roomLen | room (UTF-8, ≤ 255 bytes) | u32be epoch | u32be chainId |
 *   u32be iteration | AES-GCM ciphertext ‖ tag(16) | Ed25519 signature (64)
 * AEAD AD = everything before the ciphertext ‖ caller AD. The signature covers
 * "parley-room-v1\0" ‖ everything before the signature ‖ caller AD.
 */

import { concatBytes, fromBase64, toBase64, utf8, utf8Strict } from "../common/bytes.ts";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  DecryptError,
  ed25519Sign,
  ed25519Verify,
  GCM_TAG_LEN,
  hkdfSha256,
  SIG_LEN,
} from "./primitives.ts";
import { kdfCk, ReplayError, TooFarAheadError } from "./ratchet.ts";
import {
  needsRotation,
  type ReceiverChain,
  ROOM_MAX_SKIP,
  ROOM_MAX_STORED,
  ROOM_SKIPPED_TTL_MS,
  ROOM_VERSION,
  type RoomReceiverState,
  RotationRequiredError,
  type SenderKeyState,
} from "./sender_key_state.ts";

export * from "./sender_key_state.ts";

export interface RoomHeader {
  room: string;
  epoch: number;
  chainId: number;
  iteration: number;
}

const MK_INFO = utf8.encode("Parley_RoomKeys_v1");
const SIG_CONTEXT = utf8.encode("parley-room-v1\0");

function encodeRoomHeader(h: RoomHeader): Uint8Array {
  const room = utf8.encode(h.room);
  const b = new Uint8Array(2 + room.length + 12);
  const dv = new DataView(b.buffer);
  b[0] = ROOM_VERSION;
  b[1] = room.length;
  b.set(room, 2);
  dv.setUint32(2 + room.length, h.epoch);
  dv.setUint32(6 + room.length, h.chainId);
  dv.setUint32(10 + room.length, h.iteration);
  return b;
}

/** Parses a room message; throws `SyntaxError` when malformed. */
export function parseRoomMessage(
  msg: Uint8Array,
): { header: RoomHeader; headerBytes: Uint8Array; ct: Uint8Array; sig: Uint8Array } {
  if (msg.length < 2 || msg[0] !== ROOM_VERSION) throw new SyntaxError("Unknown room message version");
  const rl = msg[1]!;
  const hl = 2 + rl + 12;
  if (rl === 0 || msg.length < hl + GCM_TAG_LEN + SIG_LEN) throw new SyntaxError("Room message too short");
  let room: string;
  try {
    room = utf8Strict.decode(msg.subarray(2, 2 + rl));
  } catch {
    throw new SyntaxError("Room name is not UTF-8");
  }
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    header: {
      room,
      epoch: dv.getUint32(2 + rl),
      chainId: dv.getUint32(6 + rl),
      iteration: dv.getUint32(10 + rl),
    },
    headerBytes: msg.slice(0, hl),
    ct: msg.subarray(hl, msg.length - SIG_LEN),
    sig: msg.subarray(msg.length - SIG_LEN),
  };
}

function messageKeys(mk: Uint8Array): Promise<Uint8Array> {
  return hkdfSha256(mk, new Uint8Array(32), MK_INFO, 44);
}

/** Encrypts and signs one room message; throws `RotationRequiredError` when the key must rotate. */
export async function encryptRoom(
  s: SenderKeyState,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): Promise<{ state: SenderKeyState; message: Uint8Array }> {
  if (needsRotation(s)) throw new RotationRequiredError();
  const { mk, ck } = await kdfCk(fromBase64(s.ck));
  const header = encodeRoomHeader({
    room: s.room,
    epoch: s.epoch,
    chainId: s.chainId,
    iteration: s.iteration,
  });
  const km = await messageKeys(mk);
  const ct = await aesGcmEncrypt(km.subarray(0, 32), km.subarray(32), plaintext, concatBytes([header, ad]));
  const body = concatBytes([header, ct]);
  const sig = await ed25519Sign(fromBase64(s.sigPriv), concatBytes([SIG_CONTEXT, body, ad]));
  return {
    state: { ...s, ck: toBase64(ck), iteration: s.iteration + 1, sent: s.sent + 1 },
    message: concatBytes([body, sig]),
  };
}

/**
 * Verifies and decrypts a room message from `r.sender` on a copy of the state. Throws
 * `SyntaxError`, `DecryptError` (bad signature/tag, unknown chain, wrong room), `ReplayError` or
 * `TooFarAheadError`; the input state is never changed.
 */
export async function decryptRoom(
  r: RoomReceiverState,
  message: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  now: number = Date.now(),
): Promise<{ state: RoomReceiverState; plaintext: Uint8Array; header: RoomHeader }> {
  const { header, headerBytes, ct, sig } = parseRoomMessage(message);
  if (header.room !== r.room) throw new DecryptError("Message is for another room");
  const ci = r.chains.findIndex((c) => c.chainId === header.chainId && c.epoch === header.epoch);
  if (ci < 0) throw new DecryptError("Unknown sender key");
  const chain = r.chains[ci]!;
  const body = message.subarray(0, message.length - SIG_LEN);
  if (!(await ed25519Verify(fromBase64(chain.sigPub), concatBytes([SIG_CONTEXT, body, ad]), sig))) {
    throw new DecryptError("Room message signature is invalid");
  }
  const c: ReceiverChain = {
    ...chain,
    skipped: chain.skipped.filter((k) => now - k.at < ROOM_SKIPPED_TTL_MS),
  };
  let mk: Uint8Array;
  if (header.iteration < c.iteration) {
    const si = c.skipped.findIndex((k) => k.i === header.iteration);
    if (si < 0) throw new ReplayError();
    mk = fromBase64(c.skipped[si]!.mk);
    c.skipped.splice(si, 1);
  } else {
    if (header.iteration - c.iteration > ROOM_MAX_SKIP) throw new TooFarAheadError();
    let ck = fromBase64(c.ck);
    while (c.iteration < header.iteration) {
      const step = await kdfCk(ck);
      c.skipped.push({ i: c.iteration, mk: toBase64(step.mk), at: now });
      ck = step.ck;
      c.iteration++;
    }
    const step = await kdfCk(ck);
    mk = step.mk;
    c.ck = toBase64(step.ck);
    c.iteration++;
    if (c.skipped.length > ROOM_MAX_STORED) c.skipped.splice(0, c.skipped.length - ROOM_MAX_STORED);
  }
  const km = await messageKeys(mk);
  const plaintext = await aesGcmDecrypt(
    km.subarray(0, 32),
    km.subarray(32),
    ct,
    concatBytes([headerBytes, ad]),
  );
  const chains = r.chains.slice();
  chains[ci] = c;
  return { state: { ...r, chains }, plaintext, header };
}

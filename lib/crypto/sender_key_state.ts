/**
 * Sender-key state for rooms: my sending chain per room (`SenderKeyState`), what other members
 * hold for each sender (`RoomReceiverState`), the `SenderKeyDistribution` sent to them over the
 * pairwise DM sessions, and the rotation rules (after any leave or kick, and every
 * ROOM_ROTATE_EVERY messages). Message encryption is in sender_keys.ts.
 */

import { toBase64, u32be, utf8 } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import { decodeB64 } from "./identity.ts";
import { ed25519Generate, KEY_LEN } from "./primitives.ts";

export const ROOM_VERSION = 1;
export const ROOM_ROTATE_EVERY = 100;
export const ROOM_MAX_SKIP = 1000;
export const ROOM_MAX_STORED = 2000;
export const ROOM_SKIPPED_TTL_MS = 7 * 24 * 3600 * 1000;
/** Receiving chains kept per (room, sender): the current one and a few older for in-flight messages. */
export const ROOM_CHAINS_KEPT = 3;

/** `encryptRoom` was called on a sender key that must be rotated first. */
export class RotationRequiredError extends Error {
  constructor() {
    super("Sender key must be rotated before sending");
    this.name = "RotationRequiredError";
  }
}

/** My sending chain in one room (private). */
export interface SenderKeyState {
  v: 1;
  room: string;
  epoch: number;
  chainId: number;
  ck: string;
  iteration: number;
  sigPub: string;
  sigPriv: string;
  /** messages sent on this chain */
  sent: number;
  /** set after a leave or kick */
  rotate: boolean;
}

/** What other members need to read my messages; send it inside a DM. */
export interface SenderKeyDistribution {
  /** format version */
  v: 1;
  /** the room ("*": broadcasts) */
  room: string;
  /** the membership epoch the chain was made in */
  epoch: number;
  /** which of the sender's chains */
  chainId: number;
  /** the chain's position: messages before it cannot be read */
  iteration: number;
  /** base64 chain key at `iteration` */
  ck: string;
  /** base64 Ed25519 key the chain's messages are signed with */
  sigPub: string;
}

export interface ReceiverChain {
  epoch: number;
  chainId: number;
  ck: string;
  iteration: number;
  sigPub: string;
  skipped: { i: number; mk: string; at: number }[];
}

/** Everything I know about one sender's chains in one room. */
export interface RoomReceiverState {
  v: 1;
  room: string;
  sender: string;
  /** newest first */
  chains: ReceiverChain[];
}

function chainIdFrom(rand: RandomBytes): number {
  const b = rand(4);
  return u32be(b, 0);
}

/** A fresh sending chain for `room` at membership `epoch`. */
export async function createSenderKey(
  room: string,
  epoch: number,
  rand: RandomBytes = cryptoRandom,
): Promise<SenderKeyState> {
  if (utf8.encode(room).length > 255 || room.length === 0) {
    throw new RangeError("Room name must be 1..255 bytes");
  }
  const sig = await ed25519Generate();
  return {
    v: 1,
    room,
    epoch,
    chainId: chainIdFrom(rand),
    ck: toBase64(rand(32)),
    iteration: 0,
    sigPub: toBase64(sig.pub),
    sigPriv: toBase64(sig.priv),
    sent: 0,
    rotate: false,
  };
}

/** Flags the key for rotation (call on any leave or kick). */
export function markRotate(s: SenderKeyState): SenderKeyState {
  return { ...s, rotate: true };
}

export function needsRotation(s: SenderKeyState): boolean {
  return s.rotate || s.sent >= ROOM_ROTATE_EVERY;
}

/** A new chain replacing `s`; pass the new membership epoch after a leave/kick. */
export function rotateSenderKey(
  s: SenderKeyState,
  epoch = s.epoch,
  rand: RandomBytes = cryptoRandom,
): Promise<SenderKeyState> {
  return createSenderKey(s.room, epoch, rand);
}

export function senderKeyDistribution(s: SenderKeyState): SenderKeyDistribution {
  return {
    v: 1,
    room: s.room,
    epoch: s.epoch,
    chainId: s.chainId,
    iteration: s.iteration,
    ck: s.ck,
    sigPub: s.sigPub,
  };
}

/** Validates a distribution's shape (it arrives as JSON inside a DM). */
export function isSenderKeyDistribution(x: unknown): x is SenderKeyDistribution {
  if (typeof x !== "object" || x === null) return false;
  const d = x as Record<string, unknown>;
  const u32 = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  try {
    decodeB64(d.ck, KEY_LEN);
    decodeB64(d.sigPub, KEY_LEN);
  } catch {
    return false;
  }
  return d.v === 1 && typeof d.room === "string" && d.room.length > 0 && utf8.encode(d.room).length <= 255 &&
    u32(d.epoch) && u32(d.chainId) && u32(d.iteration);
}

/** Installs a sender's distribution (newest chain first; older chains beyond the cap dropped). */
export function processDistribution(
  prev: RoomReceiverState | null,
  sender: string,
  dist: SenderKeyDistribution,
): RoomReceiverState {
  if (!isSenderKeyDistribution(dist)) throw new SyntaxError("Invalid sender key distribution");
  if (prev && (prev.room !== dist.room || prev.sender !== sender)) {
    throw new Error("Distribution for another room");
  }
  const chains = (prev?.chains ?? []).filter((c) => c.chainId !== dist.chainId);
  const existing = prev?.chains.find((c) => c.chainId === dist.chainId);
  if (existing) return prev!; // already known: never rewind a chain (that would re-enable replays)
  chains.unshift({
    epoch: dist.epoch,
    chainId: dist.chainId,
    ck: dist.ck,
    iteration: dist.iteration,
    sigPub: dist.sigPub,
    skipped: [],
  });
  return { v: 1, room: dist.room, sender, chains: chains.slice(0, ROOM_CHAINS_KEPT) };
}

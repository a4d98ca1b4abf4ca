/**
 * The DM half of the receive path: the part for this device (a v2 body) or the v1 envelope, opened
 * by the Double Ratchet; then a lookup, not a cascade: a registered control kind (files/, video/,
 * e2e/controls.ts) gets the payload and its writes go with the ratchet step; a sender key ("skd")
 * is installed when the room's verified log says its sender is a member (kept for a 0.1.0 room no
 * admin has adopted yet, e2e/held_room_keys.ts; refused otherwise); texts, changes and expiry
 * settings go to e2e/apply.ts. Control messages and keys are recorded as consumed (never a line).
 * Runs under the folder's lock.
 */
import { deviceAddress } from "../../common/device_address.ts";
import { mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";
import type { ChatMessage } from "../backend.ts";
import { opened, receiveChange, receiveExpiry, save } from "./apply.ts";
import { UnreadableError } from "./body_codec.ts";
import { isChange } from "./changes.ts";
import { decodeMultiBody } from "./devices.ts";
import { holdKey } from "./held_room_keys.ts";
import { decodePayload, type Payload } from "./keys.ts";
import { BROADCAST_ROOM, commitConsumed, type E2eParts, NO_WRITES } from "./parts.ts";

/** What opening a DM gave: the plaintext, the writes of its ratchet step, the sender's device address. */
interface OpenedDm {
  plaintext: Uint8Array;
  writes: StoreWrites;
  from: string;
}

/** Opens the part of DM `m` for this device (UnreadableError when there is none). */
async function openPart(p: E2eParts, m: ChatMessage, body: Uint8Array): Promise<OpenedDm> {
  // One part per device (v2), or one envelope between two first devices (v1).
  const multi = decodeMultiBody(body);
  let from = m.from, envelope = body;
  if (multi) {
    const part = multi.to[p.dm.self];
    if (!part) throw new UnreadableError("it was not encrypted for this device (sent before it was linked?)");
    from = deviceAddress(m.from, multi.d);
    envelope = part;
  }
  return { ...await p.dm.openDm(from, envelope), from };
}

/**
 * Opens DM `m` of conversation `conv` and does what it says; null for a consumed control message.
 * From a user this folder blocked (`blocked`) only a sender key installs; the rest is consumed unread.
 */
export async function receiveDm(
  p: E2eParts,
  m: ChatMessage,
  conv: string,
  body: Uint8Array,
  blocked = false,
): Promise<ChatMessage | null> {
  const o = await openPart(p, m, body);
  if (blocked && !isSenderKey(p, m, o.plaintext)) {
    await commitConsumed(p, o.writes, m.seq, conv); // dropped unread
    return null;
  }
  if (await receiveControl(p, m, conv, o)) return null;
  const pl = decodePayload(o.plaintext, m.mid);
  if (pl.k === "text") return await save(p, o.writes, opened(m, pl), conv);
  if (isChange(pl)) return await receiveChange(p, o.writes, m, conv, pl);
  if (pl.k === "expire") return await receiveExpiry(p, o.writes, m, pl);
  if (pl.k === "topic") throw new SyntaxError("A room's topic arrived in a direct message");
  await receiveSenderKey(p, o, m, conv, pl);
  return null;
}

/** Whether a DM's plaintext is a sender key (no control kind, and its payload says "skd"). */
function isSenderKey(p: E2eParts, m: ChatMessage, plaintext: Uint8Array): boolean {
  if (p.controls.lookup(plaintext, m.mid, false)) return false;
  try {
    return decodePayload(plaintext, m.mid).k === "skd";
  } catch {
    return false; // unreadable: consumed with the rest
  }
}

/** A member's sender key for a room: installed, kept (a 0.1.0 room without its log) or refused; consumed. */
async function receiveSenderKey(
  p: E2eParts,
  o: OpenedDm,
  m: ChatMessage,
  conv: string,
  pl: Extract<Payload, { k: "skd" }>,
): Promise<void> {
  const room = pl.dist.room;
  const refused = room === BROADCAST_ROOM ? null : await p.logs.refusal(room, m.from);
  if (refused !== null && p.logs.unlogged(room)) {
    // A 0.1.0 room that no admin has adopted yet: kept until its log arrives (e2e/held_room_keys.ts).
    const hold = await holdKey(p.cs, { from: o.from, user: m.from, dist: pl.dist });
    await commitConsumed(p, mergeWrites(o.writes, hold), m.seq, conv);
    p.notice(
      "warn",
      `A room key from ${m.from} for #${room} is kept until an admin of #${room} ` +
        `signs its membership log (a room made by Parley 0.1.0)`,
    );
    return;
  }
  if (refused !== null) {
    // consumed (never retried), the key not installed
    await commitConsumed(p, o.writes, m.seq, conv);
    if (refused) p.notice("warn", `A room key from ${m.from} for #${room} was refused: ${refused}`);
    return;
  }
  const w = await p.rooms.acceptDistribution(o.from, pl.dist);
  await commitConsumed(p, mergeWrites(o.writes, w), m.seq, conv);
}

/**
 * Runs the registered control kind (files/, video/) an opened payload is, its writes committed with
 * the ratchet or chain step and the message consumed; false when it is none. In a room (`room`) only
 * kinds that say they may come there count (e2e/controls.ts).
 */
export async function receiveControl(
  p: E2eParts,
  m: ChatMessage,
  conv: string,
  o: { plaintext: Uint8Array; writes: StoreWrites },
  room?: string,
): Promise<boolean> {
  const control = p.controls.lookup(o.plaintext, m.mid, room !== undefined);
  if (!control) return false;
  const sender = m.from;
  const r = await control({
    from: sender,
    mid: m.mid,
    at: m.ts,
    cs: p.cs,
    ...(room === undefined ? {} : { room }),
    verified: async () => (await p.dm.contact(sender))?.verified === true,
  });
  await commitConsumed(p, mergeWrites(o.writes, r.writes ?? NO_WRITES), m.seq, conv);
  r.after?.();
  return true;
}

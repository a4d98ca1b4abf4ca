/**
 * The receive path of `E2eCodec`: a message saved already is served from the local history (never
 * decrypted twice), one consumed already (a control message, a key) answers null; my own (from
 * this folder) is confirmed from the outbox; a DM is opened by its part for this device (the DM half below), a room message is
 * opened with its sender's chain (held back while its room, made by 0.1.0, has no log). What can
 * never be read here is recorded as consumed and answered as `UnreadableError`, so a redelivery
 * costs no decryption (issue 10 item 8). Runs under the folder's lock.
 *
 * The DM half: the part for this device (a v2 body) or the v1 envelope, opened by the Double Ratchet;
 * then a lookup, not a cascade: a registered control kind (files/, video/, e2e/controls.ts) gets the
 * payload and its writes go with the ratchet step; a sender key ("skd") is installed when the room's
 * verified log says its sender is a member (kept for a 0.1.0 room no admin has adopted yet,
 * e2e/room_seal.ts `holdKey`; refused otherwise); texts, changes and expiry settings go to
 * e2e/apply.ts. Control messages and keys are recorded as consumed (never a line).
 *
 * Signals (typing, core/typing.ts; watch-together, video/): sealed like a message and sent as
 * ephemeral sends (the server relays them to live sessions only, never stores them). A DM signal
 * goes to every device of the other party, never my own: a device without a session gets one from
 * its prekey bundle, once per device list (e2e/dm_seal.ts `sealDmSignal`); a room signal goes under
 * my sender key, with the handouts it needs first (e2e/room_seal.ts); e2e/codec.ts picks which.
 * Opening one commits its ratchet or chain step, so the next real message still opens; one that
 * cannot be read, or is mine, is dropped. Runs under the folder's lock.
 * Every process of a folder is the same device and gets the signal, but only the first can open it:
 * that one files what it opened in the keystore for a minute (`OPENED`, e2e/controls.ts), committed
 * with its step, and the others read it there (`watch-together` beside the full-screen client).
 * Each process takes a signal once (`taken`): one sent again, by the server or anyone, is dropped as
 * the ratchet would drop it. What is filed goes once its minute is up: when a later signal is filed,
 * and at every login (`pruneOpened`), so a process that starts leaves none of an earlier one's behind.
 */
import { KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { ReplayError } from "../../crypto/ratchet.ts";
import { mergeWrites, type StoreWrites } from "../../crypto/state_store.ts";
import { fromBase64, toBase64 } from "../../common/bytes.ts";
import { LruMap } from "../../common/lru.ts";
import type { ChatMessage, Target } from "../backend.ts";
import { FiledList } from "./controls.ts";
import {
  commitConsumed,
  NO_WRITES,
  ownChange,
  ownMessage,
  ownSetting,
  receiveExpiry,
  receiveTextOrChange,
  receiveTopic,
} from "./apply.ts";
import { BROADCAST_ROOM, holdKey, isOwnHandout, releaseHeld } from "./room_seal.ts";
import { UnreadableError } from "./body_codec.ts";
import { decodeMultiBody, keyChangedError, type OpenedDm } from "./dm_seal.ts";
import { decodePayload, type Payload } from "./keys.ts";
import type { E2eParts } from "./parts.ts";

/** Opens message `m` of conversation `conv`, saving it with the codec's state; null when consumed. */
export async function receive(
  p: E2eParts,
  m: ChatMessage,
  conv: string,
  body: Uint8Array,
  isBlocked: (user: string) => Promise<boolean>,
): Promise<ChatMessage | null> {
  const saved = p.local.get(m.seq);
  if (saved) return m.replay ? { ...saved, replay: true } : saved;
  const mine = m.from === p.me;
  if (!mine && p.cs.consumed(m.seq)) return null;
  const blocked = !mine && await isBlocked(m.from); // opened, then dropped (e2e/blocks.ts)
  try {
    if (mine) {
      // A change of mine from this folder: applied here, or by the process that sent it already.
      const changed = await ownChange(p, m, conv);
      if (changed !== undefined) {
        if (changed) p.host.notify({ type: "message.changed", message: changed });
        return null;
      }
      if (p.cs.consumed(m.seq)) return null;
      const own = ownMessage(p, m, conv) ?? await ownSetting(p, m);
      if (own !== undefined) return own; // null: a re-sent topic that changes nothing here
      // From one of my other devices: a DM has a part for this device, a room message my chain.
      if (m.to.kind === "user" && !decodeMultiBody(body)) {
        if (!(await isOwnHandout(p, m.mid))) {
          throw new UnreadableError("you sent it from another device; only its recipients can decrypt it");
        }
        await commitConsumed(p, NO_WRITES, m.seq, conv); // a room key this folder sent: nothing to show
        return null;
      }
    }
    if (m.to.kind === "user") return await receiveDm(p, m, conv, body, blocked);
    return await receiveRoom(p, m, conv, body, blocked);
  } catch (e) {
    if (!blocked) return await unreadable(p, m, conv, e);
    await commitConsumed(p, NO_WRITES, m.seq, conv); // nothing said of a blocked sender's message
    return null;
  }
}

/** A room (or broadcast) message, opened with its sender's chain (from a user blocked here: consumed, but for a setting). */
async function receiveRoom(
  p: E2eParts,
  m: ChatMessage,
  conv: string,
  body: Uint8Array,
  blocked: boolean,
): Promise<ChatMessage | null> {
  const room = m.to.kind === "room" ? m.to.name! : BROADCAST_ROOM;
  if (room !== BROADCAST_ROOM && (await heldBack(p, room)).includes(m.from)) {
    // Not consumed nor acknowledged: the server keeps it until the room's log arrives.
    throw new Error(
      `it was sent in #${room} (a room made by Parley 0.1.0), which no admin has signed a ` +
        `membership log for yet; it stays on the server and is read once one does`,
    );
  }
  const o = await p.rooms.open(room, m.from, body, await p.devices.addresses(m.from));
  // A control kind that may come in a room (a room file's offer); broadcasts carry none.
  if (!blocked && m.to.kind === "room" && await receiveControl(p, m, conv, o, room)) return null;
  const pl = blocked && p.controls.lookup(o.plaintext, m.mid, true)
    ? null
    : decodePayload(o.plaintext, m.mid);
  // From a user blocked here only the room's settings apply (its disappearing time, its topic): they are the room's.
  if (pl?.k === "expire") return await receiveExpiry(p, o.writes, m, pl);
  if (pl?.k === "topic") return await receiveTopic(p, o.writes, m, pl);
  if (blocked || !pl) {
    await commitConsumed(p, o.writes, m.seq, conv); // dropped unread
    return null;
  }
  const shown = receiveTextOrChange(p, o.writes, m, conv, pl);
  if (!shown) throw new SyntaxError("A room key arrived inside a room message");
  return await shown;
}

/** The senders whose keys for `room` are still held (e2e/room_seal.ts); released once its log is there. */
function heldBack(p: E2eParts, room: string): Promise<string[]> {
  return releaseHeld(p, room);
}

/** A failure to read `m`: never readable here → consumed and `UnreadableError`; else thrown as is. */
async function unreadable(p: E2eParts, m: ChatMessage, conv: string, e: unknown): Promise<never> {
  if (e instanceof KeyChangedError) throw keyChangedError(e);
  // No session can appear later for a message that is not a session start (issue 33.10).
  const never = e instanceof UnreadableError || e instanceof DecryptError || e instanceof SyntaxError ||
    e instanceof NoSessionError;
  if (!never) throw e;
  await commitConsumed(p, NO_WRITES, m.seq, conv);
  if (e instanceof ReplayError) throw new UnreadableError("it was already received once (replay rejected)");
  if (e instanceof NoSessionError) {
    throw new UnreadableError(`it belongs to no session with ${m.from} (forged, or from before a key reset)`);
  }
  throw e instanceof UnreadableError ? e : new UnreadableError(e instanceof Error ? e.message : String(e));
}

/** Opens the part of DM `m` for this device (UnreadableError when there is none). */
async function openPart(p: E2eParts, m: ChatMessage, body: Uint8Array): Promise<OpenedDm> {
  const o = await p.dms.openPart(m.from, body);
  if (!o) throw new UnreadableError("it was not encrypted for this device (sent before it was linked?)");
  return o;
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
  const shown = receiveTextOrChange(p, o.writes, m, conv, pl);
  if (shown) return await shown;
  if (pl.k === "expire") return await receiveExpiry(p, o.writes, m, pl);
  if (pl.k !== "skd") throw new SyntaxError("A room's topic arrived in a direct message");
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
    // A 0.1.0 room that no admin has adopted yet: kept until its log arrives (e2e/room_seal.ts).
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

/** Signals opened here, by sender and mid, for the folder's other processes (64 at most, 1 minute each). */
const OPENED = new FiledList<string>("signals:opened", 64, 60_000);
/** The signals this process took (sender and mid), per keystore: the newest 256. */
const taken = new WeakMap<object, LruMap<string, true>>();

/** Whether this process took `from`'s signal `mid` before; marks it taken. */
function takenBefore(p: E2eParts, from: string, mid: string): boolean {
  let seen = taken.get(p.cs);
  if (!seen) taken.set(p.cs, seen = new LruMap(256));
  const k = `${from}\n${mid}`;
  if (seen.has(k)) return true;
  seen.set(k, true);
  return false;
}

/** Opened signals filed here whose minute is up leave the keystore; true when some did. Under the lock. */
export async function pruneOpened(p: E2eParts): Promise<boolean> {
  const w = await OPENED.pruned(p.cs, p.clock.now());
  if (w) await p.cs.commit(w);
  return w !== null;
}

/** Opens a signal; null when it is mine or cannot be read. */
export async function openSignal(
  p: E2eParts,
  m: { mid?: string; from: string; to: Target },
  body: Uint8Array,
): Promise<Uint8Array | null> {
  if (m.from === p.me) return null; // never shown for oneself (nor from my other devices)
  const mid = m.mid;
  if (mid !== undefined) {
    if (takenBefore(p, m.from, mid)) return null; // sent again
    const filed = await OPENED.get(p.cs, m.from, mid); // another process of this folder opened it first
    if (filed !== undefined) return fromBase64(filed);
  }
  try {
    let o: { plaintext: Uint8Array; writes: StoreWrites };
    if (m.to.kind === "user") {
      const part = await p.dms.openPart(m.from, body, false);
      if (!part) return null;
      o = part;
    } else if (m.to.kind === "room") {
      o = await p.rooms.open(m.to.name!, m.from, body, await p.devices.addresses(m.from));
    } else return null;
    if (mid === undefined) await p.cs.commit(o.writes);
    else {
      const at = p.clock.now();
      const f = await OPENED.writes(p.cs, { from: m.from, id: mid, at, value: toBase64(o.plaintext) });
      await p.cs.commit({ put: { ...o.writes.put, ...f.put }, del: o.writes.del });
    }
    return o.plaintext;
  } catch {
    return null; // a signal that cannot be read is dropped: it is never stored or retried
  }
}

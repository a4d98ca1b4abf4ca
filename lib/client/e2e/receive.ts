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
import { type ControlRegistry, FiledList } from "./controls.ts";
import { type FolderApplier, NO_WRITES } from "./apply.ts";
import { BROADCAST_ROOM, type RoomSealer } from "./room_seal.ts";
import { UnreadableError } from "./body_codec.ts";
import { decodeMultiBody, type DmSealer, keyChangedError, type OpenedDm } from "./dm_seal.ts";
import { decodePayload, type Payload } from "./keys.ts";

/** Signals opened here, by sender and mid, for the folder's other processes (64 at most, 1 minute each). */
const OPENED = new FiledList<string>("signals:opened", 64, 60_000);
/** The signals this process took (sender and mid), per keystore: the newest 256. */
const taken = new WeakMap<object, LruMap<string, true>>();

/**
 * The receive path of one folder (see the module comment): DM parts opened by `dms`, room messages
 * and sender keys by `sealer`, control kinds looked up in `controls`, the rest applied by `history`.
 */
export class Receiver {
  constructor(
    readonly history: FolderApplier,
    readonly sealer: Pick<RoomSealer, "isOwnHandout" | "releaseHeld" | "open" | "takeKey">,
    readonly dms: Pick<DmSealer, "openPart">,
    readonly controls: Pick<ControlRegistry, "lookup">,
    /** Whether `user`'s key is verified (a control kind may ask). */
    readonly verified: (user: string) => Promise<boolean>,
  ) {}

  #notice(level: "warn", text: string): void {
    this.history.notify({ type: "notice", level, text });
  }

  /** Opens message `m` of conversation `conv`, saving it with the codec's state; null when consumed. */
  async receive(
    m: ChatMessage,
    conv: string,
    body: Uint8Array,
    isBlocked: (user: string) => Promise<boolean>,
  ): Promise<ChatMessage | null> {
    const saved = this.history.local.get(m.seq);
    if (saved) return m.replay ? { ...saved, replay: true } : saved;
    const mine = m.from === this.history.me;
    if (!mine && this.history.cs.consumed(m.seq)) return null;
    const blocked = !mine && await isBlocked(m.from); // opened, then dropped (e2e/blocks.ts)
    try {
      if (mine) {
        // A change of mine from this folder: applied here, or by the process that sent it already.
        const changed = await this.history.ownChange(m, conv);
        if (changed !== undefined) {
          if (changed) this.history.notify({ type: "message.changed", message: changed });
          return null;
        }
        if (this.history.cs.consumed(m.seq)) return null;
        const own = this.history.ownMessage(m, conv) ?? await this.history.ownSetting(m);
        if (own !== undefined) return own; // null: a re-sent topic that changes nothing here
        // From one of my other devices: a DM has a part for this device, a room message my chain.
        if (m.to.kind === "user" && !decodeMultiBody(body)) {
          if (!(await this.sealer.isOwnHandout(m.mid))) {
            throw new UnreadableError("you sent it from another device; only its recipients can decrypt it");
          }
          await this.history.commitConsumed(NO_WRITES, m.seq, conv); // a room key this folder sent: nothing to show
          return null;
        }
      }
      if (m.to.kind === "user") return await this.receiveDm(m, conv, body, blocked);
      return await this.#receiveRoom(m, conv, body, blocked);
    } catch (e) {
      if (!blocked) return await this.#unreadable(m, conv, e);
      await this.history.commitConsumed(NO_WRITES, m.seq, conv); // nothing said of a blocked sender's message
      return null;
    }
  }

  /** A room (or broadcast) message, opened with its sender's chain (from a user blocked here: consumed, but for a setting). */
  async #receiveRoom(
    m: ChatMessage,
    conv: string,
    body: Uint8Array,
    blocked: boolean,
  ): Promise<ChatMessage | null> {
    const room = m.to.kind === "room" ? m.to.name! : BROADCAST_ROOM;
    if (room !== BROADCAST_ROOM && (await this.#heldBack(room)).includes(m.from)) {
      // Not consumed nor acknowledged: the server keeps it until the room's log arrives.
      throw new Error(
        `it was sent in #${room} (a room made by Parley 0.1.0), which no admin has signed a ` +
          `membership log for yet; it stays on the server and is read once one does`,
      );
    }
    const o = await this.sealer.open(room, m.from, body);
    // A control kind that may come in a room (a room file's offer); broadcasts carry none.
    if (!blocked && m.to.kind === "room" && await this.receiveControl(m, conv, o, room)) return null;
    const pl = blocked && this.controls.lookup(o.plaintext, m.mid, true)
      ? null
      : decodePayload(o.plaintext, m.mid);
    // From a user blocked here only the room's settings apply (its disappearing time, its topic): they are the room's.
    if (pl?.k === "expire") return await this.history.receiveExpiry(o.writes, m, pl);
    if (pl?.k === "topic") return await this.history.receiveTopic(o.writes, m, pl);
    if (blocked || !pl) {
      await this.history.commitConsumed(o.writes, m.seq, conv); // dropped unread
      return null;
    }
    const shown = this.history.receiveTextOrChange(o.writes, m, conv, pl);
    if (!shown) throw new SyntaxError("A room key arrived inside a room message");
    return await shown;
  }

  /** The senders whose keys for `room` are still held (e2e/room_seal.ts); released once its log is there. */
  #heldBack(room: string): Promise<string[]> {
    return this.sealer.releaseHeld(room);
  }

  /** A failure to read `m`: never readable here → consumed and `UnreadableError`; else thrown as is. */
  async #unreadable(m: ChatMessage, conv: string, e: unknown): Promise<never> {
    if (e instanceof KeyChangedError) throw keyChangedError(e);
    // No session can appear later for a message that is not a session start (issue 33.10).
    const never = e instanceof UnreadableError || e instanceof DecryptError || e instanceof SyntaxError ||
      e instanceof NoSessionError;
    if (!never) throw e;
    await this.history.commitConsumed(NO_WRITES, m.seq, conv);
    if (e instanceof ReplayError) throw new UnreadableError("it was already received once (replay rejected)");
    if (e instanceof NoSessionError) {
      throw new UnreadableError(
        `it belongs to no session with ${m.from} (forged, or from before a key reset)`,
      );
    }
    throw e instanceof UnreadableError ? e : new UnreadableError(e instanceof Error ? e.message : String(e));
  }

  /** Opens the part of DM `m` for this device (UnreadableError when there is none). */
  async #openPart(m: ChatMessage, body: Uint8Array): Promise<OpenedDm> {
    const o = await this.dms.openPart(m.from, body);
    if (!o) throw new UnreadableError("it was not encrypted for this device (sent before it was linked?)");
    return o;
  }

  /**
   * Opens DM `m` of conversation `conv` and does what it says; null for a consumed control message.
   * From a user this folder blocked (`blocked`) only a sender key installs; the rest is consumed unread.
   */
  async receiveDm(
    m: ChatMessage,
    conv: string,
    body: Uint8Array,
    blocked = false,
  ): Promise<ChatMessage | null> {
    const o = await this.#openPart(m, body);
    if (blocked && !this.#isSenderKey(m, o.plaintext)) {
      await this.history.commitConsumed(o.writes, m.seq, conv); // dropped unread
      return null;
    }
    if (await this.receiveControl(m, conv, o)) return null;
    return await this.history.takeDm(o, m, conv, {
      senderKey: (pl) => this.#receiveSenderKey(o, m, conv, pl),
    });
  }

  /** Whether a DM's plaintext is a sender key (no control kind, and its payload says "skd"). */
  #isSenderKey(m: ChatMessage, plaintext: Uint8Array): boolean {
    if (this.controls.lookup(plaintext, m.mid, false)) return false;
    try {
      return decodePayload(plaintext, m.mid).k === "skd";
    } catch {
      return false; // unreadable: consumed with the rest
    }
  }

  /** A member's sender key for a room: installed, kept (a 0.1.0 room without its log) or refused (e2e/room_seal.ts); consumed. */
  async #receiveSenderKey(
    o: OpenedDm,
    m: ChatMessage,
    conv: string,
    pl: Extract<Payload, { k: "skd" }>,
  ): Promise<void> {
    const took = await this.sealer.takeKey(o.from, m.from, pl.dist);
    await this.history.commitConsumed(mergeWrites(o.writes, took.writes), m.seq, conv);
    if (took.warn) this.#notice("warn", took.warn);
  }

  /**
   * Runs the registered control kind (files/, video/) an opened payload is, its writes committed with
   * the ratchet or chain step and the message consumed; false when it is none. In a room (`room`) only
   * kinds that say they may come there count (e2e/controls.ts).
   */
  async receiveControl(
    m: ChatMessage,
    conv: string,
    o: { plaintext: Uint8Array; writes: StoreWrites },
    room?: string,
  ): Promise<boolean> {
    const control = this.controls.lookup(o.plaintext, m.mid, room !== undefined);
    if (!control) return false;
    const sender = m.from;
    const r = await control({
      from: sender,
      mid: m.mid,
      at: m.ts,
      cs: this.history.cs,
      ...(room === undefined ? {} : { room }),
      verified: () => this.verified(sender),
    });
    await this.history.commitConsumed(mergeWrites(o.writes, r.writes ?? NO_WRITES), m.seq, conv);
    r.after?.();
    return true;
  }

  /** Whether this process took `from`'s signal `mid` before; marks it taken. */
  #takenBefore(from: string, mid: string): boolean {
    let seen = taken.get(this.history.cs);
    if (!seen) taken.set(this.history.cs, seen = new LruMap(256));
    const k = `${from}\n${mid}`;
    if (seen.has(k)) return true;
    seen.set(k, true);
    return false;
  }

  /** Opened signals filed here whose minute is up leave the keystore; true when some did. Under the lock. */
  async pruneOpened(): Promise<boolean> {
    const w = await OPENED.pruned(this.history.cs, this.history.clock.now());
    if (w) await this.history.cs.commit(w);
    return w !== null;
  }

  /**
   * Opens a signal; null when it is mine, sent again, has no part for this device or is a room's it cannot
   * read yet; rejects when a direct one cannot be opened (replayed, forged).
   */
  async openSignal(
    m: { mid?: string; from: string; to: Target },
    body: Uint8Array,
  ): Promise<Uint8Array | null> {
    if (m.from === this.history.me) return null; // never shown for oneself (nor from my other devices)
    const mid = m.mid;
    if (mid !== undefined) {
      if (this.#takenBefore(m.from, mid)) return null; // sent again
      const filed = await OPENED.get(this.history.cs, m.from, mid); // another process of this folder opened it first
      if (filed !== undefined) return fromBase64(filed);
    }
    // One that cannot be read (replayed, forged) rejects: the core says it (core/receiving.ts); never stored or retried.
    let o: { plaintext: Uint8Array; writes: StoreWrites };
    if (m.to.kind === "user") {
      const part = await this.dms.openPart(m.from, body, false);
      if (!part) return null;
      o = part;
    } else if (m.to.kind === "room") {
      // A room's signal from a member whose sender key has not come yet is not for us yet: dropped quietly
      // (typing every few seconds while a key travels would warn each time).
      const r = await this.sealer.open(m.to.name!, m.from, body).catch(() => null);
      if (!r) return null;
      o = r;
    } else return null;
    if (mid === undefined) await this.history.cs.commit(o.writes);
    else {
      const at = this.history.clock.now();
      const f = await OPENED.writes(this.history.cs, {
        from: m.from,
        id: mid,
        at,
        value: toBase64(o.plaintext),
      });
      await this.history.cs.commit({ put: { ...o.writes.put, ...f.put }, del: o.writes.del });
    }
    return o.plaintext;
  }
}

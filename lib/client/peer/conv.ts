/**
 * Conversations in peer mode (issue 39): replies, edits, deletions for both ends, reactions and
 * disappearing messages, with the payload kinds of client mode (e2e/keys.ts `Payload`: a text with
 * `re` and `x`, edit, delete, react, expire) sealed in a `msg` record's envelope, and the one rule
 * of e2e/changes.ts (`changeTarget`, `applyChange`) for every change, received or made here.
 *
 * A received change is taken in one transaction with the ratchet step that opened it, and its id is
 * recorded (`takeOnce`): a copy re-sent after a lost acknowledgement changes nothing again, one sent
 * before the peer's horizon (ids older than it were pruned, peer/store.ts) is refused, and an
 * envelope replayed is refused by the ratchet before it gets here. Refused, changing nothing but a
 * warning: a change of a message this node does not hold, of another conversation, an edit or
 * deletion of a message that is not its sender's, an edit after the window (between the times sealed
 * in the text and in the edit, as in client mode: an edit that waited in its sender's queue is taken
 * as its sender took it; from a peer of an earlier version, without them, counted to the time it
 * arrives), a change of a deleted message, a malformed payload.
 * A change made here is checked by the same rule (the sender being me), applied at once and queued
 * for the peer (peer/outbox.ts). A deletion removes the text from the store (LocalStore.applyDelete);
 * a disappearing time (`expire`) is a setting line of its sender's in the conversation (no text:
 * never edited, deleted or reacted to), and each text sent
 * after it carries the time (`x`), so both ends delete it from their stores when it is up (`purge`).
 * A peer of an earlier version sends plain text, not a payload: taken as a text. A change names its
 * message by sender and id (`by`), and a text or setting whose id another sender's message holds here
 * is refused once, never stored (issue 69 N2, e2e/changes.ts).
 */
import { utf8Strict } from "../../common/bytes.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import { BackendError, type ChatMessage, type MessageChange } from "../backend.ts";
import { checkTextSize } from "../core/message_size.ts";
import { changeable, toggled } from "../core/message_changes.ts";
import {
  applyChange,
  changeOf,
  type ChangePayload,
  changePayload,
  changeTarget,
  decodePayload,
  encodePayload,
  expiryText,
  idTaken,
  isChange,
  type Payload,
  UnreadableError,
} from "../e2e/mod.ts";
import { LocalStore } from "../session/local_store.ts";
import type { PeerEvent } from "./events.ts";
import { convWith, newMid, type PeerOutbox } from "./outbox.ts";

/** The payload a peer sealed under `mid`; a peer of an earlier version sends the bare text. */
export function bodyOf(plaintext: Uint8Array, mid: string): Payload {
  const text = utf8Strict.decode(plaintext);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    j = null;
  }
  if (typeof j !== "object" || j === null || !("v" in j)) return { v: 1, k: "text", mid, text };
  return decodePayload(plaintext, mid);
}

/** A payload made here, checked as its receiver will check it (a malformed emoji, time or id is refused now). */
function checked<P extends Payload>(p: P): P {
  try {
    decodePayload(encodePayload(p), p.mid);
    return p;
  } catch (e) {
    throw new BackendError("usage", (e as Error).message);
  }
}

/** Where a received message sits: from the peer to me, at the time it counts as sent. */
type Envelope = Pick<ChatMessage, "mid" | "ts" | "from" | "to">;

export class PeerConv {
  constructor(readonly out: PeerOutbox) {}

  get #core() {
    return this.out.core;
  }

  /**
   * A `msg` of `from` (id `mid`, sent at `ts`) opened with the ratchet writes `writes`: saved or
   * applied with them. Answers the events to emit.
   */
  received(from: string, mid: string, ts: number, plaintext: Uint8Array, writes: StoreWrites): PeerEvent[] {
    const { me, store } = this.#core;
    const env: Envelope = { mid, ts, from, to: { kind: "user", name: me } };
    let p: Payload;
    try {
      p = bodyOf(plaintext, mid);
      if (p.k === "skd" || p.k === "topic") {
        throw new SyntaxError("A room's key or topic has no place in peer mode");
      }
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      store.withWrites(writes, () => store.takeOnce(from, mid, ts, this.#core.clock.now())); // the ratchet step stands
      return [this.#refused(from, e.message)];
    }
    if (isChange(p)) return this.#change(env, p, writes);
    const taken = idTaken(store.local, env);
    if (taken !== null) return this.#takenId(env, taken, writes);
    if (p.k === "expire") {
      const line = store.withWrites(writes, () => this.#expiryLine(env, p.seconds));
      return line ? [{ type: "message", message: line }] : [];
    }
    const m = {
      ...env,
      text: p.text,
      ...(p.re ? { replyTo: p.re, ...(p.rb ? { replyBy: p.rb } : {}) } : {}),
      ...(p.x ? { expires: ts + p.x * 1000 } : {}),
      ...(p.at !== undefined ? { sentAt: p.at } : {}),
    };
    const saved = store.saveReceived(m, writes);
    return saved ? [{ type: "message", message: saved }] : [];
  }

  /** A received change, checked by the one rule against the history and applied with `writes`. */
  #change(env: Envelope, p: ChangePayload, writes: StoreWrites): PeerEvent[] {
    const { me, store, clock } = this.#core;
    const c = changeOf(p);
    // A change of my text still in the outbox to this peer (its ack was lost: I quit before it came,
    // and its resend has not been taken yet) shows the peer holds it: it is confirmed now, so the
    // change finds it in the history instead of being refused as a change of an unknown message.
    if (store.local.pending(p.ref)?.to.name === env.from) this.out.acked(env.from, p.ref);
    // The edit window (e2e/changes.ts editTooLate): between the times sealed in the text and the
    // edit; for a peer of an earlier version, without them, to now, not to the time the peer claims.
    const sealed = p.k === "edit" && p.at !== undefined ? { at: p.at } : {};
    const at = { ...env, ts: clock.now(), ...sealed };
    const r = store.withWrites(writes, (): { changed: ChatMessage } | { refused: string } | null => {
      const taken = store.takeOnce(env.from, env.mid, env.ts, at.ts);
      if (taken === "again") return null; // taken before: its copy came again
      if (taken === "stale") return { refused: "it is older than the changes this node remembers (replay)" };
      try {
        const orig = changeTarget(store.local, me, at, p.ref, c, false, p.by);
        return { changed: applyChange(store.local, orig.seq, env.from, at.ts, c) };
      } catch (e) {
        if (e instanceof UnreadableError) return { refused: e.message };
        throw e;
      }
    });
    if (!r) return [];
    if ("refused" in r) return [this.#refused(env.from, r.refused)];
    return [{ type: "message.changed", message: r.changed, by: env.from, change: c }];
  }

  /** A text or setting whose id a message of another sender's holds here (issue 69 N2): not stored, said once. */
  #takenId(env: Envelope, why: string, writes: StoreWrites): PeerEvent[] {
    const { store, clock } = this.#core;
    const taken = store.withWrites(writes, () => store.takeOnce(env.from, env.mid, env.ts, clock.now()));
    return taken === "again" ? [] : [this.#refused(env.from, why)];
  }

  #refused(from: string, why: string): PeerEvent {
    return {
      type: "notice",
      text: `${from}: a message was refused (${why}); nothing changed`,
      level: "warn",
    };
  }

  /** A disappearing-time setting: kept for the conversation and saved as its sender's line (null: had it). */
  #expiryLine(env: Envelope, seconds: number): ChatMessage | null {
    const { me, store } = this.#core;
    if (store.local.byMid(env.from, env.mid)) return null;
    const line: ChatMessage = { ...env, text: expiryText(seconds), seq: store.nextSeq(), setting: true };
    const peer = env.from === me ? env.to.name! : env.from;
    store.local.setExpiry(convWith(me, peer), seconds, env.ts);
    store.local.insert([line], env.from === me);
    return line;
  }

  /**
   * Changes message `ref` (its sender edits or deletes it; either end reacts): checked by the one
   * rule with me as the sender, applied here at once and queued for the peer. The new state.
   */
  change(ref: string, c: MessageChange): ChatMessage {
    const { me, store, clock, frameCap } = this.#core;
    const orig = changeable(store.local, me, ref, c, clock.now()); // the rule of both modes
    const peer = this.out.writable(orig.from === me ? orig.to.name! : orig.from);
    if (c.kind === "edit") checkTextSize(c.text, frameCap, 1, true);
    const mid = newMid(), ts = clock.now();
    const p = checked(changePayload(mid, ref, c, orig.from, ts)); // by sender and id (issue 69 N2), an edit's time (N4)
    const changed = LocalStore.tx(store.db, () => {
      let target: ChatMessage;
      try {
        const env = { from: me, to: { kind: "user" as const, name: peer }, ts, at: ts };
        target = changeTarget(store.local, me, env, ref, c, false, orig.from);
      } catch (e) {
        if (!(e instanceof UnreadableError)) throw e;
        throw new BackendError("refused", `Refused: ${e.message}`);
      }
      if (c.kind === "delete") this.out.entries.dropEditsOf(ref); // their texts never leave now
      this.out.queue(peer, p, ts);
      return applyChange(store.local, target.seq, me, ts, c);
    });
    this.#core.emit({ type: "message.changed", message: changed, by: me, change: c });
    this.out.added(peer, mid, ts); // it leaves once the transaction stands
    return changed;
  }

  /** Toggles my reaction `emoji` on message `ref`. */
  react(ref: string, emoji: string): ChatMessage {
    return this.change(ref, toggled(this.#core.store.local, this.#core.me, ref, emoji));
  }

  /**
   * Disappearing messages with `peer`: from now on each text is deleted from both stores `seconds`
   * after it was sent (0: off). The setting is a line of mine in the conversation, queued for the peer.
   */
  setExpiry(peer: string, seconds: number): ChatMessage {
    const { me, store, clock } = this.#core;
    const name = this.out.writable(peer);
    const mid = newMid(), ts = clock.now();
    const p = checked<Payload>({ v: 1, k: "expire", mid, seconds });
    const line = LocalStore.tx(store.db, () => {
      this.out.queue(name, p, ts);
      return this.#expiryLine({ mid, ts, from: me, to: { kind: "user", name } }, seconds)!;
    });
    this.out.added(name, mid, ts);
    return line;
  }

  /** Deletes the disappearing messages whose time is up (`now`) and says which. */
  purge(now: number): string[] {
    const mids = this.#core.store.local.purgeExpired(now);
    if (mids.length) this.#core.emit({ type: "messages.expired", mids });
    return mids;
  }

  /** The earlier texts of message `ref`, oldest first (none when it was never edited). */
  editsOf(ref: string): { at: number; text: string }[] {
    const m = this.#core.store.local.byMidAny(ref);
    return m ? this.#core.store.local.editsOf(m.seq) : [];
  }
}

/**
 * Conversations in peer mode (issue 39), the sending side: replies, edits, deletions, reactions and
 * disappearing messages made here, with the payload kinds of client mode (e2e/keys.ts `Payload`: a
 * text with `re` and `x`, edit, delete, react, expire) sealed in a `msg` record's envelope. A change
 * made here is checked by the one rule of e2e/changes.ts (`changeable`, `changeTarget`: the sender
 * being me), applied at once and queued for the peer (peer/outbox.ts). A deletion removes the text
 * from the store (LocalStore.applyDelete); a disappearing time (`expire`) is a setting line of its
 * sender's in the conversation (no text: never edited, deleted or reacted to), and each text sent
 * after it carries the time (`x`), so both ends delete it from their stores when it is up (`purge`).
 * What a peer sends is received by client mode's history applier (peer/codec.ts `takeOpened`).
 */
import { BackendError, type ChatMessage, type MessageChange } from "../backend.ts";
import { checkTextSize } from "../core/message_size.ts";
import { changeable, toggled } from "../core/message_changes.ts";
import {
  applyChange,
  changePayload,
  changeTarget,
  decodePayload,
  encodePayload,
  expiryText,
  type Payload,
  UnreadableError,
} from "../e2e/mod.ts";
import { LocalStore } from "../session/local_store.ts";
import { convWith, newMid, type PeerOutbox } from "./outbox.ts";

/** A payload made here, checked as its receiver will check it (a malformed emoji, time or id is refused now). */
function checked<P extends Payload>(p: P): P {
  try {
    decodePayload(encodePayload(p), p.mid);
    return p;
  } catch (e) {
    throw new BackendError("usage", (e as Error).message);
  }
}

/** Where a setting line sits: from me to the peer, at the time it was made. */
type Envelope = Pick<ChatMessage, "mid" | "ts" | "from" | "to">;

export class PeerConv {
  constructor(readonly out: PeerOutbox) {}

  get #core() {
    return this.out.core;
  }

  /** My disappearing-time setting: kept for the conversation and saved as my line. */
  #expiryLine(env: Envelope, seconds: number): ChatMessage {
    const { store } = this.#core;
    const line: ChatMessage = { ...env, text: expiryText(seconds), seq: store.nextSeq(), setting: true };
    store.local.setExpiry(convWith(env.from, env.to.name!), seconds, env.ts);
    store.local.insert([line], true);
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
      return this.#expiryLine({ mid, ts, from: me, to: { kind: "user", name } }, seconds);
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

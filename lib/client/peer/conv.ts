/**
 * Conversations in peer mode (issue 39), the sending side: replies, edits, deletions, reactions and
 * disappearing messages made here, with the payload kinds of client mode (e2e/keys.ts `Payload`: a
 * text with `re` and `x`, edit, delete, react, expire) sealed in a `msg` record's envelope. Every rule
 * is client mode's, called with the node's store and outbox: who may change what and the edit window
 * (core/message_changes.ts `changeable`, `toggled`), where it goes (`changeTo`), the change checked,
 * applied here at once as the receivers apply it and queued for the peer (`queueChangeOf` with
 * `apply`, client mode's offline queueing: a deletion takes the edits still waiting; peer/outbox.ts
 * sends it), a disappearing time checked as its receiver checks it (`checkedPayload`), queued and kept as its setting line (`keepSetting`: never edited, deleted or reacted
 * to; each text sent after it carries the time, `x`, so both ends delete it when it is up: `purgeExpired`),
 * earlier texts (`editsOf`). What peer mode adds: the change applied before the peer has it (no
 * server answers; client mode applies once the server took it), in one transaction with its queuing.
 * What a peer sends is received by client mode's history applier (peer/codec.ts `takeOpened`).
 */
import type { ChatMessage, MessageChange, Target } from "../backend.ts";
import { checkTextSize } from "../core/message_size.ts";
import {
  changeable,
  changeTo,
  checkedPayload,
  editsOf,
  keepSetting,
  purgeExpired,
  queueChangeOf,
  toggled,
} from "../core/message_changes.ts";
import { expiryText, type Payload } from "../e2e/mod.ts";
import { LocalStore } from "../session/local_store.ts";
import { newMid, type PeerOutbox } from "./outbox.ts";

export class PeerConv {
  constructor(readonly out: PeerOutbox) {}

  get #core() {
    return this.out.core;
  }

  /**
   * Changes message `ref` (its sender edits or deletes it; either end reacts): checked by the one
   * rule with me as the sender, applied here at once and queued for the peer. The new state.
   */
  change(ref: string, c: MessageChange): ChatMessage {
    const { me, store, clock, session } = this.#core;
    const orig = changeable(store.local, me, ref, c, clock.now()); // the rule of both modes
    const to: Target = { kind: "user", name: this.out.writable(changeTo(orig, me).name!) };
    if (c.kind === "edit") checkTextSize(c.text, session.maxFrame, 1, true);
    const mid = newMid(), ts = clock.now();
    const changed = queueChangeOf(this.out.entries, me, to, { ref, c, orig, mid, ts }, true);
    this.#core.emit({ type: "message.changed", message: changed, by: me, change: c });
    this.out.added(to.name!, mid, ts); // it leaves once the transaction stands
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
    const to: Target = { kind: "user", name: this.out.writable(peer) };
    const mid = newMid(), ts = clock.now();
    const p = checkedPayload<Payload>({ v: 1, k: "expire", mid, seconds });
    const line = LocalStore.tx(store.db, () => {
      this.out.entries.queueChange(to, p, ts);
      const line: ChatMessage = {
        mid,
        ts,
        from: me,
        to,
        text: expiryText(seconds),
        seq: store.nextSeq(),
        setting: true,
      };
      keepSetting(store.local, me, line, { kind: "expire", seconds });
      return line;
    });
    this.out.added(to.name!, mid, ts);
    return line;
  }

  /** Deletes the disappearing messages whose time is up (`now`) and says which. */
  purge(now: number): string[] {
    return purgeExpired(this.#core.store.local, now, (e) => this.#core.emit(e));
  }

  /** The earlier texts of message `ref`, oldest first (none when it was never edited). */
  editsOf(ref: string): { at: number; text: string }[] {
    return editsOf(this.#core.store.local, ref);
  }
}

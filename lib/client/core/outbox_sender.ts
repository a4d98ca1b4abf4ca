/**
 * `OutboxSender`: how the UI's backend (`LiveBackend`) sends over the current client. With a local
 * outbox, a text that can never fit this server is refused at once (issue 34.1), else written to the
 * outbox first and sent in order behind whatever the outbox still holds; while offline it waits there
 * (answered as pending) for the next connect's `flush`. A refusal that can never succeed removes it
 * (the user is told now); a connection lost mid-send leaves it queued. Without a local store it is a
 * plain send. Its only state is the chain that keeps the order.
 */
import type { BackendEvent, ChatMessage, Target } from "../backend.ts";
import { wire } from "../session/wire_events.ts";
import type { ChatClient } from "./chat_client.ts";
import { isPermanentRefusal } from "./message_size.ts";

export class OutboxSender {
  #flushing: Promise<void> = Promise.resolve();

  /** `emit`: where each message the outbox sends on `flush` is told (the screen drops its marker). */
  constructor(readonly emit: (e: BackendEvent) => void) {}

  /** Sends the outbox of `c` in order, behind any send already under way. */
  flush(c: ChatClient): void {
    this.#flushing = this.#flushing.then(() =>
      c.resendPending((m) => this.emit({ type: "message", message: m })).then(() => {}, () => {})
    );
  }

  /** Sends now (`online`), or keeps the text in the outbox and answers it as pending. */
  async send(
    c: ChatClient,
    target: Target,
    text: string,
    online: boolean,
    replyTo?: string,
  ): Promise<ChatMessage> {
    const re = replyTo ? { replyTo } : {};
    if (!c.outbox) return await c.send(target, text, re);
    const to = wire(target);
    await c.checkSize(to, text); // too long for this server: refused now, never queued (issue 34.1)
    const m: ChatMessage = { ...c.outbox.create(to, text, re), seq: 0, from: c.user };
    const queued = { ...m, pending: true };
    if (!online) return queued;
    // Behind whatever the outbox still holds, so the order is kept.
    const sent = this.#flushing.then(() => c.send(to, text, { keep: true, mid: m.mid, ...re }));
    this.#flushing = sent.then(() => {}, () => {});
    try {
      return await sent;
    } catch (e) {
      if (isPermanentRefusal(e)) c.outbox.remove(m.mid); // the user is told now: nothing to keep
      if (!c.conn.closed || isPermanentRefusal(e)) throw e;
      return queued; // the connection went while sending: it waits in the outbox for the next connect
    }
  }
}

/**
 * `Inbound`: what comes in on one connection. Pushed frames become `BackendEvent`s in arrival
 * order (messages and signals — typing, room signals — from the connection's `Link`,
 * core/server_link.ts, opened by the codec, messages saved before they are emitted; presence, rooms
 * and role); the offline queue is
 * fetched by `sync`, a conversation's history by `history` (the messages that arrive until its reply: the `Feed`, feed.ts, keeps them from
 * the live path); what the caller has consumed is acknowledged by `ack`, control messages the codec
 * consumed (room keys) with them once no unread message precedes them. A message that cannot be
 * read is said as an error notice naming sender and seq, never dropped silently.
 */
import type { ChatMessage, Target } from "../backend.ts";
import type { Frame } from "../../protocol/frame.ts";
import { UnreadableError } from "../e2e/mod.ts";
import { convOf, pushEvents, wire } from "../session/wire_events.ts";
import { envelopeOf } from "./server_link.ts";
import { decodeTyping } from "./typing.ts";
import type { ClientHost } from "./client_host.ts";
import type { SealedEnvelope } from "./link.ts";
import { Feed } from "./feed.ts";

export class Inbound {
  #opening: Promise<unknown> = Promise.resolve();
  /** Connecting, syncing or live: where an arriving message goes (feed.ts). */
  readonly #feed = new Feed();
  /** Chat messages handed out and not acknowledged yet, by conversation. */
  readonly #unacked = new Map<string, number[]>();
  /** Control messages consumed by the codec, acknowledged with the next `ack()`. */
  #control: { conv: string; seq: number }[] = [];

  constructor(readonly host: ClientHost) {
    host.conn.onPush((f) => this.#onPush(f));
    // Sealed messages and signals come through the link, read in step with the pushes above.
    host.link.receive((e) => this.#onMessage(e));
    host.link.signals((e) => this.#signal(e));
  }

  /** Resolves once everything received so far is opened (room changes seen so far apply first). */
  opened(): Promise<unknown> {
    return this.#opening;
  }

  #onPush(f: Frame): void {
    const h = f.header, host = this.host;
    switch (h.t) {
      case "msg":
      case "ephemeral":
        return; // through the link: #onMessage, #signal
      case "role":
        if (h.role === "admin" || h.role === "user") {
          host.role = h.role;
          host.notify({ type: "role", role: h.role });
        }
        return;
      default: {
        for (const e of pushEvents(h)) host.notify(e);
      }
    }
    const codec = host.codec;
    if (codec.onPush) {
      this.#opening = this.#opening.then(() => codec.onPush!(h)).catch((e) =>
        host.notify({
          type: "notice",
          level: "warn",
          text: `Encryption: ${e instanceof Error ? e.message : e}`,
        })
      );
    }
  }

  /** A message from the link: the sync's while it collects the queue, else live, opened in arrival order. */
  #onMessage(e: SealedEnvelope): void {
    if (!this.#feed.take(e)) return;
    this.#opening = this.#opening.then(() => this.receive(e)).then((m) => {
      if (m) this.host.notify({ type: "message", message: m });
    }).catch(() => {});
  }

  /** A typing event (issue 14) or another room signal: opened in arrival order, never stored or acked. */
  #signal(e: SealedEnvelope): void {
    const host = this.host, codec = host.codec;
    if (!codec.openSignal) return;
    const m = { mid: e.mid, from: e.from, to: e.to };
    this.#opening = this.#opening.then(() => codec.openSignal!(m, e.body)).then((p) => {
      const t = p && decodeTyping(p, m.mid);
      if (t) host.notify({ type: "typing", from: m.from, to: m.to, active: t.active });
      // Another signal, in a room or a DM (a kind of its own, e.g. video/watch_together.ts): its plaintext.
      else if (p && m.to.kind !== "broadcast") host.notify({ type: "signal", ...m, plaintext: p });
    }).catch(() => {});
  }

  /**
   * Opens, saves and returns a message; null for a control message the codec consumed or for one
   * that could not be read (reported as an error notice naming sender and seq, never dropped silently).
   */
  async receive(e: SealedEnvelope, replay = false): Promise<ChatMessage | null> {
    const codec = this.host.codec;
    const head = header(e, replay);
    const conv = convOf(this.host.user, head);
    try {
      if (codec.receive) {
        const m = await codec.receive(head, conv, e.body);
        if (m === null) this.#control.push({ conv, seq: e.seq });
        else this.#track(m);
        return m;
      }
      const m = { ...head, text: await codec.open(head.from, head.to, head.mid, e.body) };
      this.host.store?.save([m]);
      this.#track(m);
      return m;
    } catch (err) {
      // Never readable: acknowledged with the consumed control messages, so it is not redelivered.
      if (err instanceof UnreadableError) this.#control.push({ conv, seq: e.seq });
      this.host.notify({
        type: "notice",
        level: "error",
        text: `Could not read message ${e.seq} from ${e.from}: ${err instanceof Error ? err.message : err}`,
      });
      return null;
    }
  }

  #track(m: ChatMessage): void {
    const conv = convOf(this.host.user, m);
    const l = this.#unacked.get(conv) ?? [];
    l.push(m.seq);
    this.#unacked.set(conv, l);
  }

  /** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
  async sync(): Promise<ChatMessage[]> {
    // Messages that arrive before the reply are the queue (the feed keeps them from the live path).
    this.#feed.beginSync();
    let got: SealedEnvelope[];
    try {
      await this.host.conn.request("sync");
    } finally {
      got = this.#feed.endSync();
    }
    await this.#opening;
    const out: ChatMessage[] = [];
    for (const e of got) {
      const m = await this.receive(e, true);
      if (m) out.push(m);
    }
    return out;
  }

  /** History of one conversation since a time (ms since epoch), oldest first, opened and saved. */
  async history(target: Target, since?: number): Promise<ChatMessage[]> {
    const r = await this.host.conn.request("history", {
      to: wire(target),
      ...(since !== undefined ? { since } : {}),
    });
    const out: ChatMessage[] = [];
    for (const f of r.items) {
      const m = await this.receive(envelopeOf(f), true);
      if (m) out.push(m);
    }
    return out;
  }

  /** Acknowledges messages: the server drops them from this user's queue. */
  async ack(ms: ChatMessage[]): Promise<void> {
    const max = new Map<string, number>();
    for (const m of ms) {
      const conv = convOf(this.host.user, m);
      max.set(conv, Math.max(max.get(conv) ?? 0, m.seq));
    }
    for (const [conv, seq] of max) {
      this.#unacked.set(conv, (this.#unacked.get(conv) ?? []).filter((x) => x > seq));
    }
    // Consumed control messages (room keys) are acknowledged once no unread message precedes them.
    const keep: { conv: string; seq: number }[] = [];
    for (const c of this.#control) {
      const first = Math.min(...(this.#unacked.get(c.conv) ?? []));
      if (c.seq < first) max.set(c.conv, Math.max(max.get(c.conv) ?? 0, c.seq));
      else keep.push(c);
    }
    this.#control = keep;
    if (max.size === 0) return;
    await this.host.conn.request("ack", { acks: [...max].map(([conv, seq]) => ({ conv, seq })) });
  }
}

/** A message from its envelope (text still empty). */
function header(e: SealedEnvelope, replay: boolean): ChatMessage {
  const m: ChatMessage = { seq: e.seq, mid: e.mid, ts: e.ts, from: e.from, to: e.to, text: "" };
  if (replay) m.replay = true;
  return m;
}

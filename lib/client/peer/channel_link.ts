/**
 * `ChannelLink`: the `Link` (core/link.ts) of peer mode, over the node's authenticated channels (one
 * per peer, peer/channel.ts; the node owns them and tells this link what they read). A send is a `msg`
 * record (mid, time, the Double Ratchet envelope) on the peer's channel once it said hello; its ack
 * is the peer's `ack` record for that mid on the same channel. The peer writes it once its receivers
 * took the envelope (the node: opened and saved), and again, without handing it over twice, for a
 * mid it delivered lately (a resend after a lost ack). Refusals: `no_such_peer` (unknown name),
 * `no_rooms` (peer mode has none), `offline` (no channel now); a channel that ends, or the link's
 * `close`, rejects the sends still waiting with `closed`. A signal is a `sig` record (mid, the
 * sealed body): written, never acknowledged, never delivered twice by a resend (there is none).
 * Time comes from the injected clock.
 */
import { toBase64 } from "../../common/bytes.ts";
import type { Clock } from "../../common/clock.ts";
import { LruMap } from "../../common/lru.ts";
import { BackendError, type Target } from "../backend.ts";
import {
  deliverTo,
  type Link,
  type LinkAck,
  type LinkReceiver,
  type LinkSendOptions,
  type SealedEnvelope,
} from "../core/link.ts";
import type { Channel } from "./channel.ts";

/** How many delivered (peer, mid) pairs a link remembers, to acknowledge a resend without delivering it again. */
export const RECENT_MIDS = 4096;

/** What the link needs of its node. */
export interface ChannelSource {
  readonly me: string;
  readonly clock: Clock;
  /** The stored name of `peer` (any spelling); throws `no_such_peer` when there is none. */
  known(peer: string): string;
  /** The channel of `peer` once it said hello. */
  channel(peer: string): Channel | undefined;
  /** Stops the node the link belongs to (called once by `close`). */
  stop(): Promise<void>;
}

interface Waiter {
  resolve(a: LinkAck): void;
  reject(e: unknown): void;
  ts: number;
}

export class ChannelLink implements Link {
  readonly #receivers = new Set<LinkReceiver>();
  readonly #signals = new Set<LinkReceiver>();
  /** Sends waiting for their ack, by channel and mid. */
  readonly #waiting = new Map<Channel, Map<string, Waiter[]>>();
  readonly #recent = new LruMap<string, true>(RECENT_MIDS);
  #closed = false;

  constructor(readonly source: ChannelSource) {}

  send(to: Target, mid: string, body: Uint8Array, o: LinkSendOptions = {}): Promise<LinkAck> {
    try {
      const p = this.write(to, mid, body, o);
      p.written.catch(() => {}); // its failure rejects `acked` too
      return p.acked;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * `send`, with the moment the record is written apart (`written`: TCP backpressure, for a caller
   * writing many); throws the refusals at once.
   */
  write(
    to: Target,
    mid: string,
    body: Uint8Array,
    o: LinkSendOptions = {},
  ): { written: Promise<void>; acked: Promise<LinkAck> } {
    const ch = this.#channelTo(to);
    const ts = o.ts ?? this.source.clock.now();
    let w!: Waiter;
    const acked = new Promise<LinkAck>((resolve, reject) => (w = { resolve, reject, ts }));
    const byMid = this.#waiting.get(ch) ?? new Map<string, Waiter[]>();
    this.#waiting.set(ch, byMid);
    byMid.set(mid, [...(byMid.get(mid) ?? []), w]);
    const written = ch.say({ t: "msg", mid, ts, env: toBase64(body) });
    written.catch(() => this.ended(ch));
    return { written, acked };
  }

  /** The open channel a send to `to` goes on; else the refusal (closed, no rooms, unknown, offline). */
  #channelTo(to: Target): Channel {
    if (this.#closed) throw new BackendError("closed", "The peer link is closed");
    if (to.kind !== "user") throw new BackendError("no_rooms", "Peer mode has no rooms");
    const name = this.source.known(to.name ?? "");
    const ch = this.source.channel(name);
    if (!ch || ch.ended) throw new BackendError("offline", `${name} is not connected`);
    return ch;
  }

  async signal(to: Target, mid: string, body: Uint8Array): Promise<void> {
    await this.#channelTo(to).say({ t: "sig", mid, env: toBase64(body) });
  }

  signals(r: LinkReceiver): () => void {
    this.#signals.add(r);
    return () => this.#signals.delete(r);
  }

  /** The node read `sig` from `peer`: handed to the signal receivers now, never acknowledged. */
  signalled(peer: string, r: { mid: string; body: Uint8Array }): void {
    if (this.#closed) return;
    const e = this.#envelope(peer, r.mid, this.source.clock.now(), r.body);
    for (const s of [...this.#signals]) void Promise.resolve().then(() => s(e)).catch(() => {});
  }

  /** What `peer` sent me, as it arrives (a channel has no sequence numbers). */
  #envelope(from: string, mid: string, ts: number, body: Uint8Array): SealedEnvelope {
    return { from, to: { kind: "user", name: this.source.me }, mid, ts, seq: 0, body };
  }

  receive(r: LinkReceiver): () => void {
    this.#receivers.add(r);
    return () => this.#receivers.delete(r);
  }

  /** The node read `ack` for `mid` on `ch`: the sends of it waiting there resolve (once each). */
  acked(ch: Channel, mid: string): void {
    const byMid = this.#waiting.get(ch);
    const ws = byMid?.get(mid);
    if (!byMid || !ws) return; // not ours, or answered already
    byMid.delete(mid);
    for (const w of ws) w.resolve({ mid, ts: w.ts, seq: 0 });
  }

  /**
   * The node read `msg` from `peer` on `ch`: handed to the receivers (unless delivered lately), then
   * acknowledged. A receiver's rejection leaves it unacknowledged (the peer sends it again later).
   */
  async arrived(peer: string, ch: Channel, r: { mid: string; ts: number; body: Uint8Array }): Promise<void> {
    if (this.#closed) return;
    const key = `${peer}\n${r.mid}`;
    if (!this.#recent.has(key)) {
      // A peer's clock cannot put a message in the future.
      await deliverTo(
        this.#receivers,
        this.#envelope(peer, r.mid, Math.min(r.ts, this.source.clock.now()), r.body),
      );
      this.#recent.set(key, true);
    }
    if (!this.#closed) await ch.say({ t: "ack", mid: r.mid });
  }

  /** `ch` ended: the sends still waiting on it reject with `closed` (the outbox writes them again). */
  ended(ch: Channel, why = "The channel closed before the peer acknowledged the message"): void {
    const byMid = this.#waiting.get(ch);
    if (!byMid) return;
    this.#waiting.delete(ch);
    for (const ws of byMid.values()) for (const w of ws) w.reject(new BackendError("closed", why));
  }

  /** Stops delivering, rejects every waiting send with `closed`, and stops the node. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#receivers.clear();
    this.#signals.clear();
    for (const ch of [...this.#waiting.keys()]) this.ended(ch, "The peer link is closed");
    await this.source.stop();
  }
}

/**
 * `PeerSession`: peer mode's `ChatSession` (core/chat_session.ts), what the shared conversation core
 * asks of where messages go and come from, over a node (node.ts): its link is the node's channels'
 * (channel_link.ts), the user is the node's name, the role always "user". A channel acknowledges
 * each message once it is saved, so the session acknowledges nothing more (`ack`); it is gone only
 * once the node closes (a peer away is one lane down, core/kept_sends.ts, never the session). Its
 * policies: entries leave on a lane per peer, any number unacknowledged (`sends`); a peer that went
 * away never makes an outbox entry fail (`dropLimit` Infinity: engine_outbox.ts `dropNoted`); a text
 * the peer took is numbered by the node's store (`number`). No I/O of its own.
 */
import type { ChatMessage } from "../backend.ts";
import type { ChatSession, SendPolicy, SessionEnd } from "../core/chat_session.ts";
import type { Seen } from "../core/engine.ts";
import type { ChannelLink } from "./channel_link.ts";
import type { Channel } from "./channel.ts";
import type { PeerStore } from "./store.ts";

/** What the session reads of its node. */
export interface SessionNode {
  readonly name: string;
  /** "host:port" the node listens on. */
  readonly listening: string;
  readonly link: ChannelLink;
  /** The largest frame a peer reads (its default is ours). */
  readonly maxFrame: number;
  readonly store: PeerStore;
  /** The channel of `peer` once it said hello. */
  channel(peer: string): Channel | undefined;
}

export class PeerSession implements ChatSession {
  readonly role = "user" as const;
  /** A peer away only went away: an entry waits for it however often its channel dropped. */
  readonly dropLimit = Infinity;
  #closed = false;
  #end!: (e: SessionEnd) => void;
  readonly #ended = new Promise<SessionEnd>((r) => this.#end = r);
  /**
   * A lane per peer, any number handed and not yet acknowledged; down while the peer has no channel
   * (or only one that ended) or its changed key waits for /trust: what waits stays, said by the node.
   */
  readonly sends: SendPolicy = {
    window: Infinity,
    lane: (to) => to.name!,
    offline: (peer) => {
      const ch = this.node.channel(peer);
      return !ch || ch.ended || !!this.node.store.peer(peer)?.pending;
    },
  };

  constructor(readonly node: SessionNode) {}

  get user(): string {
    return this.node.name;
  }
  get server(): string {
    return `peer mode on ${this.node.listening}`;
  }
  get maxFrame(): number {
    return this.node.maxFrame;
  }
  /** Gone once the node closed. */
  get closed(): boolean {
    return this.#closed;
  }
  openLink(): ChannelLink {
    return this.node.link;
  }
  /** No peer numbers what it took: the node's store numbers it once (store.ts `place`). */
  number(m: ChatMessage): ChatMessage {
    return this.node.store.place(m) ?? m;
  }
  /** Nothing: each channel acknowledged what it saved (channel_link.ts). */
  ack(_acks: Seen[]): Promise<void> {
    return Promise.resolve();
  }
  ended(): Promise<SessionEnd> {
    return this.#ended;
  }
  /** The node closed: the session ends (once). */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end({ type: "disconnected", code: "closed", reason: "The peer node closed" });
  }
}

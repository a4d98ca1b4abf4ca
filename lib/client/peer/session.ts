/**
 * `PeerSession`: peer mode's `ChatSession` (core/chat_session.ts), what the shared conversation core
 * (core/chat_client.ts `ChatClient`) asks of where messages go and come from, over a node (node.ts):
 * its link is the node's channels' (channel_link.ts), the user is the node's name, the role always
 * "user". A channel acknowledges each message once it is saved, so the session acknowledges nothing
 * more (`ack`); it is gone only once the node closes (a peer away is one lane down, core/kept_sends.ts,
 * never the session). Its policies: entries leave on a lane per peer, any number unacknowledged, the
 * caller answered at once and the peer's ack settling it later (`sends`: a lane comes up with each
 * channel that said hello, `up`, and goes with it, `down`; a change of my text the peer sent shows it
 * holds it, `held`); ids are the wire's (wire.ts `newMid`); a peer that went away never makes an
 * outbox entry fail (`dropLimit` Infinity: engine_outbox.ts `dropNoted`); a text the peer took is
 * numbered by the node's store (`number`). What needs no server is answered here from the node: who
 * is connected, fingerprints and trust (`directory`), `/info`, the file offers waiting for a peer
 * away, which the core's `/outbox` lists with its texts and changes (`waiting`: core/outbox.ts
 * `outboxControls`, one numbering), and typing (a plain record, never sealed). A room, an unknown
 * peer or one whose key changed is refused before anything is written (`address`). No I/O of its own.
 */
import {
  BackendError,
  type ChatMessage,
  type Fingerprint,
  missing,
  type PeerListing,
  type Presence,
  type Target,
} from "../backend.ts";
import type {
  ChatSession,
  Directory,
  LaneEvents,
  SendPolicy,
  SessionEnd,
  Waiting,
} from "../core/chat_session.ts";
import { sizeText } from "../../common/progress.ts";
import type { PeerFiles } from "../files/carried.ts";
import type { Seen } from "../core/engine.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { ChannelLink } from "./channel_link.ts";
import type { Channel } from "./channel.ts";
import { present } from "./events.ts";
import type { PeerStore } from "./store.ts";
import { newMid } from "./wire.ts";

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
  /** The stored name of a peer something may be written to now (a first contact written to is kept); else the refusal. */
  writable(peer: string): string;
  fingerprint(peer: string): Promise<Fingerprint>;
  trust(peer: string, verified?: boolean, number?: string): Promise<Fingerprint>;
  /** Messages received, from everyone or one peer. */
  inbox(peer?: string): ChatMessage[];
  typing(peer: string, active: boolean): void;
  /** Every peer known, online or not. */
  peers(): PeerListing[];
  /** Its files: those offered to a peer away wait in `/outbox` too. */
  readonly files: Pick<PeerFiles, "waitingFor" | "withdraw">;
}

export class PeerSession implements ChatSession {
  readonly role = "user" as const;
  /** A peer away only went away: an entry waits for it however often its channel dropped. */
  readonly dropLimit = Infinity;
  #closed = false;
  #end!: (e: SessionEnd) => void;
  readonly #ended = new Promise<SessionEnd>((r) => this.#end = r);
  /** The core's lanes (set once it is built): each keeps its carrier's generation (core/kept_sends.ts). */
  #lanes: LaneEvents | null = null;
  /**
   * A lane per peer, any number handed and not yet acknowledged, its caller answered at once; down
   * while the peer has no channel (or only one that ended) or its changed key waits for /trust.
   */
  readonly sends: SendPolicy = {
    window: Infinity,
    waits: false,
    lane: (to) => to.name!,
    offline: (peer) => {
      const ch = this.node.channel(peer);
      return !ch || ch.ended || !!this.node.store.peer(peer)?.pending;
    },
    mid: newMid,
    lanes: (core) => void (this.#lanes = core),
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

  /** A channel of `peer` said hello: what waits for the peer leaves on it. */
  up(peer: string): void {
    this.#lanes?.up(peer);
  }
  /** The channel of `peer` ended: what it was handed and not acknowledged waits for the next one. */
  down(peer: string): void {
    this.#lanes?.down(peer);
  }
  /** `peer` holds my `mid` (a change of it that it sent). */
  held(peer: string, mid: string): void {
    this.#lanes?.held(peer, mid);
  }

  /** Peers only: a room or broadcast is refused as a backend without rooms refuses it; an unknown peer or a changed key too. */
  address(to: Target): Target {
    if (to.kind !== "user" || !to.name) throw missing("rooms");
    return { kind: "user", name: this.node.writable(to.name) };
  }

  /** Who is connected, fingerprints and trust: the node's pins (keys.ts). */
  readonly directory: Directory = {
    who: () => Promise.resolve(this.#who()),
    whois: (user) => {
      const name = normalizeName(user) ?? user;
      if (!this.node.peers().some((p) => p.name === name)) {
        return Promise.reject(
          new BackendError("no_such_user", `No peer named ${user}: /connect HOST:PORT first`),
        );
      }
      return Promise.resolve(this.#who().find((p) => p.user === name) ?? null);
    },
    setStatus: () => Promise.resolve(),
    fingerprint: (user) => {
      if (!user) return Promise.reject(new BackendError("usage", "Say whose: /fingerprint PEER"));
      return this.node.fingerprint(user);
    },
    verify: (user, number) => this.node.trust(user, true, number),
    trust: (user, number) => this.node.trust(user, false, number),
    inbox: (user) => {
      try {
        return Promise.resolve(this.node.inbox(user));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };

  /** The peers connected now. */
  #who(): Presence[] {
    return this.node.peers().filter((p) => p.online).map((p: PeerListing) =>
      present(p.name, p.addr ?? "", 0)
    );
  }

  /** The file offers to a peer away (files/carried.ts), which `/outbox` lists with the outbox; dropped: withdrawn. */
  readonly waiting: Waiting = {
    list: () => {
      const online = new Set(this.#who().map((p) => p.user));
      return this.node.files.waitingFor((p) => online.has(p)).map((f) => ({
        n: 0,
        mid: f.fid,
        ts: f.ts,
        to: { kind: "user", name: f.peer },
        text: `file ${f.name} (${sizeText(f.size)})`,
        kind: "file",
      }));
    },
    drop: (fid) => this.node.files.withdraw(fid),
  };

  /** Typing goes as a plain record on the peer's channel. */
  typing(to: Target, active: boolean): void {
    if (to.kind === "user" && to.name) this.node.typing(to.name, active);
  }

  /** `/info`: a peer node is its user's one device. */
  info(): [string, string][] {
    const peers = this.node.peers();
    return [
      ["Mode", "peer (no server)"],
      ["Listening", this.node.listening],
      ["Peers", `${peers.filter((p) => p.online).length} online of ${peers.length}`],
      ["Store", this.node.store.path ?? "memory only (--ephemeral)"],
    ];
  }
}

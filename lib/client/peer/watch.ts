/**
 * Watch together in peer mode (issue 39.7): `/watch-together @PEER PATH` and the script's `watch-together
 * PEER [FILE]` — two peers play their own copies of one local video in step, each with its own player (its
 * renderer and size its own). One `PeerWatch` per node answers its peers' questions whether the user watches
 * or not. The sessions, their rules and their clock are client mode's (video/watch_sessions.ts: one
 * `WatchRoom` per peer, its key the DM's conversation key "d:alice:bob", both parties controlling, its
 * times on the clock of the name that sorts first); what is peer mode's is here: each peer's `WatchChannel`
 * over sealed signals, and the copies.
 *
 * Signals: sealed by the peer's Double Ratchet session (the one its messages use, one crypto step at a
 * time: peer/codec.ts `sealBody`, `openSignal`) in a `sig` record (peer/channel_link.ts). One that arrives is opened and its step committed,
 * watched or not (after `close` too); one the ratchet refuses (replayed, forged, sealed for someone
 * else) is dropped with a warning. The sender is the channel's authenticated peer.
 *
 * Copies: a video is named by its file's SHA-256. The starter asks the peer whether it holds a copy (`ask`,
 * answered by `has`: a file it received or named, hashed again to be sure: peer/watch_copies.ts). If not,
 * the file is offered through the peer file transfer and the session starts once the peer saved it
 * (`file.sent`); a refused or failed transfer starts nothing and says why. A peer that does not answer
 * (watch_sessions.ts ANSWER_MS) runs an older Parley (0.5 hands the signal to nobody; older ones drop
 * the channel at the unknown record and redial): said, nothing started, nothing crashes.
 */
import type { Clock, Timers } from "../../common/clock.ts";
import { convKey, normalizeName } from "../../protocol/names.ts";
import { BackendError, type PeerListing, type WatchChannel } from "../backend.ts";
import { dmParties } from "../video/watch_channel.ts";
import { type SessionEvent, WatchSessions } from "../video/watch_sessions.ts";
import { isWatch, type WatchControl, type WatchState } from "../video/watch_together.ts";
import type { SealedEnvelope } from "../core/link.ts";
import { newMid } from "./wire.ts";
import type { PeerCodec } from "./codec.ts";
import type { ChannelLink } from "./channel_link.ts";
import type { PeerEvent } from "./events.ts";
import { type CopiesHost, WatchCopies } from "./watch_copies.ts";

/** One more clock round trip this often, ms. */
export const RESAMPLE_MS = 10_000;

type Note = { type: "note"; name: string; text: string; level: "info" | "warn" };
/** What a `PeerWatch` tells its surface (`name`: the peer): the sessions' events and notes. */
export type PeerWatchEvent = SessionEvent | Note;

/** What a `PeerWatch` needs of its node. */
export interface WatchHost extends CopiesHost {
  readonly name: string;
  readonly clock: Clock;
  /** What the sessions' drift tick waits on (none: the runtime's timers). */
  readonly timers?: Timers;
  peers(): PeerListing[];
}

/** What the signals need of their node: its codec and link, and its events. */
export interface SignalCore {
  readonly codec: PeerCodec;
  readonly carrier: ChannelLink;
  emit(e: PeerEvent): void;
}

const nameOf = (peer: string) => normalizeName(peer.replace(/^@/, "")) ?? peer;
const unanswered = (peer: string) =>
  `${peer} did not answer: watching together in peer mode needs Parley 0.6 or later at both ends`;

export class PeerWatch extends WatchSessions<Note> {
  readonly #copies: WatchCopies;
  #closed = false;

  constructor(readonly host: WatchHost, readonly core: SignalCore) {
    const keyOf = (peer: string) => convKey("user", host.name, peer);
    const now = () => host.clock.now();
    super({ me: host.name, now, keyOf, resampleMs: RESAMPLE_MS, nameOf, unanswered, timers: host.timers });
    this.#copies = new WatchCopies(host);
    core.carrier.signals((e) => this.#opened(e));
  }

  /** Seals `payload(mid)` for `peer` and writes it on its channel now; refused as a message to it would be. */
  async seal(peer: string, payload: (mid: string) => Uint8Array): Promise<void> {
    const mid = newMid(), c = this.core;
    await c.carrier.signal({ kind: "user", name: peer }, mid, await c.codec.sealBody(peer, payload(mid)));
  }

  /**
   * Starts `path` for both: asks `peer` for a copy, offers the file when it has none, and starts once
   * the copy is there. Resolves with the first state; playing it already just joins.
   */
  override async start(peer: string, path: string): Promise<WatchState> {
    const name = this.#online(peer);
    const f = await this.#copies.name(path);
    return await super.start(name, f.sha, async () => {
      const has = await this.ask(name, { kind: "ask", video: f.sha });
      if (has.kind === "has" && has.ok) return;
      const text = `${name} holds no copy of ${f.name}: offering it; the video starts once ${name} saved it`;
      this.emit({ type: "note", name, text, level: "info" });
      await this.#copies.offer(name, f.real, f.name);
    });
  }

  /** Joins the session with `peer` (a late start: whoever plays answers with where it is). */
  override join(peer: string): Promise<void> {
    return super.join(this.#online(peer));
  }

  override close(): void {
    super.close();
    this.#closed = true;
  }

  /** The stored name of a connected peer; refused (`no_such_peer`, `offline`) else. */
  #online(peer: string): string {
    const name = nameOf(peer);
    const p = this.host.peers().find((p) => p.name === name);
    if (!p) throw new BackendError("no_such_peer", `No peer named ${peer}: connect to it first`);
    if (!p.online) throw new BackendError("offline", `${name} is not connected`);
    return name;
  }

  /** The channel of the session with `peer`: its sealed signals, its two parties, its clock. */
  protected override channelOf(peer: string): WatchChannel {
    const key = convKey("user", this.host.name, peer);
    return {
      signal: (_key, payload) => this.seal(peer, payload),
      roomAdmins: () => Promise.resolve(dmParties(key)!),
      serverTime: this.partyTime(peer),
    };
  }

  /** A peer asks whether this node holds a copy: only of files the user named or exchanged with it. */
  protected override answer(peer: string, c: Extract<WatchControl, { kind: "ask" }>): void {
    const has = (p: string | null) => this.send(peer, { kind: "has", video: c.video, ok: p !== null });
    void this.#copies.of(c.video, peer).then(has).catch(() => {});
  }

  /** This node's copy of a session's video; said when there is none. */
  protected override async copyOf(peer: string, sha: string): Promise<string | null> {
    const path = await this.#copies.of(sha);
    if (path) return path;
    const text = `${peer} plays a video you hold no copy of (SHA-256 ${sha.slice(0, 16)}…): ` +
      `watch-together ${peer} PATH with your copy, or ask ${peer} to start it again (it is offered then)`;
    this.emit({ type: "note", name: peer, text, level: "warn" });
    return null;
  }

  /** A signal arrived: opened (its ratchet step committed), then handed to the sessions. */
  async #opened(e: SealedEnvelope): Promise<void> {
    const c = this.core;
    let plaintext: Uint8Array;
    try {
      plaintext = await c.codec.openWatch(e, e.body);
    } catch (err) {
      const text = `${e.from}: a signal that could not be opened was dropped (${(err as Error).message})`;
      return c.emit({ type: "notice", text, level: "warn" });
    }
    if (!this.#closed && isWatch(plaintext)) this.signal(e.from, { from: e.from, mid: e.mid, plaintext });
  }
}

/**
 * Watch together in peer mode (issue 39.7): `/watch-together @PEER PATH` and the script's `watch-together
 * PEER [FILE]` — two peers play their own copies of one local video in step, each with its own player (its
 * renderer and size its own). One `PeerWatch` per node answers its peers' questions whether the user watches
 * or not. The sessions, their rules and their clock are client mode's (video/watch_sessions.ts: one
 * `WatchRoom` per peer, its key the DM's conversation key "d:alice:bob", both parties controlling, its
 * times on the clock of the name that sorts first: no server) over client mode's channel of the node's
 * core (video/watch_channel.ts `watchChannel`: the signals sealed, sent, opened — one refused said —
 * by a core/chat_client.ts `ChatClient` whose link writes each as a `sig` record on the peer's channel,
 * peer/channel_link.ts; issue 70). What is peer mode's is here, and only here: the copies by SHA-256,
 * and a session only with a peer connected now. The sender is the channel's authenticated peer.
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
import { BackendError, type PeerListing } from "../backend.ts";
import { type SessionEvent, WatchSessions, type WatchSessionsOptions } from "../video/watch_sessions.ts";
import type { WatchControl, WatchState } from "../video/watch_together.ts";
import { type CopiesHost, WatchCopies } from "./watch_copies.ts";

/** One more clock round trip this often, ms. */
export const RESAMPLE_MS = 10_000;

type Note = { type: "note"; name: string; text: string; level: "info" | "warn" };
/** What a `PeerWatch` tells its surface (`name`: the peer): the sessions' events and notes. */
export type PeerWatchEvent = SessionEvent | Note;

/** What a `PeerWatch` needs of its node: its core (the signals) among the rest. */
export interface WatchHost extends CopiesHost {
  readonly name: string;
  readonly clock: Clock;
  /** What the sessions' drift tick waits on (none: the runtime's timers). */
  readonly timers?: Timers;
  readonly client: NonNullable<WatchSessionsOptions["core"]>;
  peers(): PeerListing[];
}

const nameOf = (peer: string) => normalizeName(peer.replace(/^@/, "")) ?? peer;
const unanswered = (peer: string) =>
  `${peer} did not answer: watching together in peer mode needs Parley 0.6 or later at both ends`;

export class PeerWatch extends WatchSessions<Note> {
  readonly #copies: WatchCopies;

  constructor(readonly host: WatchHost) {
    const keyOf = (peer: string) => convKey("user", host.name, peer);
    const now = () => host.clock.now();
    // The core's signals (opened by it, the ratchet step committed) heard whether watched or not.
    const core = host.client, timers = host.timers;
    super({ me: host.name, now, keyOf, resampleMs: RESAMPLE_MS, nameOf, unanswered, timers, core });
    this.#copies = new WatchCopies(host);
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

  /** The stored name of a connected peer; refused (`no_such_peer`, `offline`) else. */
  #online(peer: string): string {
    const name = nameOf(peer);
    const p = this.host.peers().find((p) => p.name === name);
    if (!p) throw new BackendError("no_such_peer", `No peer named ${peer}: connect to it first`);
    if (!p.online) throw new BackendError("offline", `${name} is not connected`);
    return name;
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
}

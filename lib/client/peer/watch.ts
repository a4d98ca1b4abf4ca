/**
 * Watch together in peer mode (issue 39.7): `/watch-together @PEER PATH` and the script's `watch-together
 * PEER [FILE]` — two peers play their own copies of one local video in step, each with its own player (its
 * renderer and size its own). One `PeerWatch` per node answers its peers' questions whether the user watches
 * or not. The sessions are client mode's (video/watch_sessions.ts: one `WatchRoom` per peer, its key the
 * DM's conversation key "d:alice:bob", both parties controlling); what is peer mode's is here: each peer's
 * `WatchChannel` over sealed signals (peer/signals.ts: the Double Ratchet, the sender the channel's
 * authenticated peer, a replayed envelope refused by the ratchet) and the questions only peers ask.
 *
 * Copies: a video is named by its file's SHA-256. The starter asks the peer whether it holds a copy (`ask`,
 * answered by `has`: a file it received or named, hashed again to be sure: peer/watch_copies.ts). If not,
 * the file is offered through the peer file transfer and the session starts once the peer saved it
 * (`file.sent`); a refused or failed transfer starts nothing and says why. A peer that does not answer
 * within ANSWER_MS runs an older Parley (0.5 hands the signal to nobody; older ones drop the channel at the
 * unknown record and redial): said, nothing started, nothing crashes. A clock or copy answer to no
 * question of ours is dropped.
 *
 * Clock: there is no server; a session's times are on the clock of the name that sorts first in its key,
 * which the other party asks over the channel (`time` controls, one round trip each: the channel's
 * `serverTime`). The reference party makes one round trip too (it tells an older peer that never
 * answers), then reads its own clock.
 */
import type { Clock } from "../../common/clock.ts";
import { convKey, normalizeName } from "../../protocol/names.ts";
import { BackendError, type PeerListing, type WatchChannel } from "../backend.ts";
import { dmParties } from "../video/watch_channel.ts";
import { type SessionEvent, WatchSessions } from "../video/watch_sessions.ts";
import {
  decodeWatch,
  encodeWatch,
  type Followed,
  isWatch,
  type WatchControl,
  type WatchState,
} from "../video/watch_together.ts";
import { type PeerSignal, PeerSignals, type SignalCore } from "./signals.ts";
import { type CopiesHost, WatchCopies } from "./watch_copies.ts";

/** How long a peer has to answer a question (copy, clock) before it counts as too old, ms. */
export const ANSWER_MS = 3000;
/** One more clock round trip this often, ms. */
export const RESAMPLE_MS = 10_000;

/** What a `PeerWatch` tells its surface besides the sessions' events (`name`: the peer). */
export type PeerWatchEvent =
  | SessionEvent
  /** The copy of a session's video shown here changed (null: none here). */
  | { type: "video"; name: string; path: string | null; state: WatchState; player: Followed }
  | { type: "note"; name: string; text: string; level: "info" | "warn" };

/** What a `PeerWatch` needs of its node. */
export interface WatchHost extends CopiesHost {
  readonly name: string;
  readonly clock: Clock;
  peers(): PeerListing[];
}

const nameOf = (peer: string) => normalizeName(peer.replace(/^@/, "")) ?? peer;

export class PeerWatch extends WatchSessions<Extract<PeerWatchEvent, { type: "video" | "note" }>> {
  /** Answers awaited, by question: `a PEER SHA` (copy) or `t PEER SENT` (clock). */
  readonly #waiting = new Map<string, (v: WatchControl) => void>();
  /** The video (SHA-256) of each peer's last state shown. */
  readonly #shown = new Map<string, string>();
  readonly #copies: WatchCopies;
  readonly signals: PeerSignals;
  readonly #off: () => void;

  constructor(readonly host: WatchHost, core: SignalCore) {
    const now = () => host.clock.now();
    const keyOf = (peer: string) => convKey("user", host.name, peer);
    super({ me: host.name, now, keyOf, resampleMs: RESAMPLE_MS, nameOf });
    this.#copies = new WatchCopies(host);
    this.signals = new PeerSignals(core);
    this.#off = this.signals.on((s) => this.#arrived(s));
    this.on((e) =>
      void (e.type === "watch" && e.event.type === "state" && this.#show(e.name, e.event.state))
    );
  }

  /**
   * Starts `path` for both: asks `peer` for a copy, offers the file when it has none, and starts once
   * the copy is there. Resolves with the first state; playing it already just joins.
   */
  async start(peer: string, path: string): Promise<WatchState> {
    const name = this.#online(peer);
    const f = await this.#copies.name(path), sha = f.sha;
    const room = await this.open(name);
    const state = room.session.state;
    if (state?.video === sha) {
      await this.#show(name, state);
      return state;
    }
    const has = await this.#ask(name, { kind: "ask", video: sha }, `a ${name} ${sha}`);
    if (!(has.kind === "has" && has.ok)) {
      const text = `${name} holds no copy of ${f.name}: offering it; the video starts once ${name} saved it`;
      this.emit({ type: "note", name, text, level: "info" });
      await this.#copies.offer(name, f.real, f.name);
    }
    return await room.control({ video: sha });
  }

  /** Joins the session with `peer` (a late start: whoever plays answers with where it is). */
  override join(peer: string): Promise<void> {
    return super.join(this.#online(peer));
  }

  override leave(peer: string): void {
    super.leave(peer);
    this.#shown.delete(peer);
  }

  override close(): void {
    super.close();
    this.#off();
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
    const now = () => this.host.clock.now(), key = convKey("user", this.host.name, peer);
    const reference = dmParties(key)![0] === this.host.name;
    let asked = false;
    return {
      signal: (_key, payload) => this.signals.send(peer, payload),
      roomAdmins: () => Promise.resolve(dmParties(key)!),
      serverTime: async () => {
        if (reference && asked) return now();
        const sent = now(), a = await this.#ask(peer, { kind: "time", sent }, `t ${peer} ${sent}`);
        asked = true;
        return reference || a.kind !== "time" || a.now === undefined ? (sent + now()) / 2 : a.now;
      },
    };
  }

  /** A state accepted: when its video is new here, this node's copy of it is found and told. */
  async #show(peer: string, state: WatchState): Promise<void> {
    const room = this.session(peer);
    if (!room || this.#shown.get(peer) === state.video) return;
    this.#shown.set(peer, state.video);
    const path = await this.#copies.of(state.video);
    if (this.#shown.get(peer) !== state.video) return; // another video meanwhile
    if (!path) {
      const text = `${peer} plays a video you hold no copy of (SHA-256 ${state.video.slice(0, 16)}…): ` +
        `watch-together ${peer} PATH with your copy, or ask ${peer} to start it again (it is offered then)`;
      this.emit({ type: "note", name: peer, text, level: "warn" });
    }
    this.emit({ type: "video", name: peer, path, state, player: room.follower.player });
  }

  /** Sends `c` to `peer` and waits for the answer filed under `q`. */
  #ask(peer: string, c: WatchControl, q: string): Promise<WatchControl> {
    const old =
      `${peer} did not answer: watching together in peer mode needs Parley 0.6 or later at both ends`;
    return new Promise<WatchControl>((resolve, reject) => {
      const end = (a: WatchControl | Error) => {
        clearTimeout(t);
        this.#waiting.delete(q);
        if (a instanceof Error) reject(a);
        else resolve(a);
      };
      const t = setTimeout(() => end(new BackendError("unsupported", old)), ANSWER_MS);
      this.#waiting.set(q, end);
      this.#send(peer, c).catch(end);
    });
  }

  #send(peer: string, c: WatchControl): Promise<void> {
    const key = convKey("user", this.host.name, peer);
    return this.signals.send(peer, (mid) => encodeWatch(mid, key, c));
  }

  /** A signal from a peer: a question answered (clock, copy), an awaited answer, or its session's. */
  #arrived(sig: PeerSignal): void {
    if (!isWatch(sig.plaintext)) return;
    const from = sig.from;
    let c: WatchControl | null = null;
    try {
      c = decodeWatch(sig.plaintext, sig.mid, convKey("user", this.host.name, from));
    } catch { /* refused by the session's rules: below */ }
    if (c?.kind === "time" && c.now === undefined) {
      return void this.#send(from, { ...c, now: this.host.clock.now() }).catch(() => {});
    }
    if (c?.kind === "ask") {
      const has = (p: string | null) => this.#send(from, { kind: "has", video: c.video, ok: p !== null });
      return void this.#copies.of(c.video, from).then(has).catch(() => {});
    }
    if (c?.kind === "time" || c?.kind === "has") {
      return this.#waiting.get(c.kind === "time" ? `t ${from} ${c.sent}` : `a ${from} ${c.video}`)?.(c);
    }
    this.signal(from, sig);
  }
}

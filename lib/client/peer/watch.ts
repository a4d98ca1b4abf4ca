/**
 * Watch together in peer mode (issue 39.7): `/watch-together @PEER PATH` and the script's `watch-together
 * PEER [FILE]` — two peers play their own copies of one local video in step, each with its own player (its
 * renderer and size its own). One `PeerWatch` per node answers its peers' questions whether the user watches
 * or not.
 *
 * Copies: a video is named by its file's SHA-256. The starter asks the peer whether it holds a copy (`ask`,
 * answered by `has`: a file it received or named, hashed again to be sure). If not, the file is offered
 * through the peer file transfer (files/carried.ts) and the session starts once the peer saved it
 * (`file.sent`); a refused or failed transfer starts nothing and says why. A peer that does not answer
 * within ANSWER_MS runs an older Parley (0.5 hands the signal to nobody; older ones drop the channel at the
 * unknown record and redial): said, nothing started, nothing crashes.
 *
 * Controls: the rules and encoding of video/watch_together.ts and watch_room.ts — one `WatchRoom` per peer,
 * its key the DM's conversation key ("d:alice:bob"), both parties controlling — over sealed signals
 * (peer/signals.ts: the Double Ratchet, the sender the channel's authenticated peer, a replayed envelope
 * refused by the ratchet). A control whose key is not the DM with its sender, one re-sent under another id,
 * a malformed one, or a state not newer than the current one is refused (a `refused` event) and changes
 * nothing; a clock or copy answer to no question of ours is dropped.
 *
 * Clock: the session's times are on the clock of the name that sorts first in its key, which the other
 * party estimates from round trips over the channel (peer/watch_clock.ts; one more every RESAMPLE_MS). A
 * tick every TICK_MS corrects drift.
 */
import type { Clock } from "../../common/clock.ts";
import { convKey, normalizeName } from "../../protocol/names.ts";
import { BackendError, type PeerListing } from "../backend.ts";
import { CLOCK_SAMPLES } from "../video/watch_channel.ts";
import { type WatchEvent, WatchRoom } from "../video/watch_room.ts";
import {
  ClockOffset,
  decodeWatch,
  encodeWatch,
  type Followed,
  isWatch,
  type WatchControl,
  type WatchState,
} from "../video/watch_together.ts";
import { Playhead } from "../video/watch_viewer.ts";
import { type PeerSignal, PeerSignals, type SignalCore } from "./signals.ts";
import { type CopiesHost, WatchCopies } from "./watch_copies.ts";
import { isReference, sampleSessionClock } from "./watch_clock.ts";

/** How long a peer has to answer a question (copy, clock) before it counts as too old, ms. */
export const ANSWER_MS = 3000;
/** Drift correction period, ms. */
export const TICK_MS = 100;
/** A state older than this is an answer to a late start, not a change just made: no step, ms. */
const FRESH_MS = 5000;
/** One more clock round trip this often, ms. */
export const RESAMPLE_MS = 10_000;

/** What a `PeerWatch` tells its surface. */
export type PeerWatchEvent =
  /** A change (`step`: ms from when the peer made it to its reaching the player here) or a refusal. */
  | { type: "watch"; peer: string; event: WatchEvent; step?: number }
  /** `peer` plays `state` while this user does not watch with them (once a video). */
  | { type: "invited"; peer: string; state: WatchState }
  /** The copy of a session's video shown here changed (null: none here). */
  | { type: "video"; peer: string; path: string | null; state: WatchState; player: Followed }
  | { type: "note"; peer: string; text: string; level: "info" | "warn" };

/** What a `PeerWatch` needs of its node. */
export interface WatchHost extends CopiesHost {
  readonly name: string;
  readonly clock: Clock;
  peers(): PeerListing[];
}

interface Session {
  peer: string;
  room: WatchRoom;
  clock: ClockOffset;
  deliver: ((s: PeerSignal) => void) | null;
  /** The video (SHA-256) of the last state, and this node's copy of it. */
  video: string;
  path: string | null;
  timer: ReturnType<typeof setInterval>;
}

export class PeerWatch {
  readonly #sessions = new Map<string, Session>();
  readonly #listeners = new Set<(e: PeerWatchEvent) => void>();
  /** Answers awaited, by question: `a PEER SHA` (copy) or `t PEER SENT` (clock). */
  readonly #waiting = new Map<string, (v: WatchControl) => void>();
  readonly #invited = new Map<string, string>(); // peer → the video last said it plays (`invited`)
  readonly #copies: WatchCopies;
  readonly signals: PeerSignals;
  /** The player of a new session (default: a playhead without pictures). */
  player: (peer: string) => Followed;
  readonly #off: () => void;

  constructor(readonly host: WatchHost, core: SignalCore) {
    this.player = () => new Playhead(() => host.clock.now());
    this.#copies = new WatchCopies(host);
    this.signals = new PeerSignals(core);
    this.#off = this.signals.on((s) => this.#arrived(s));
  }

  on(l: (e: PeerWatchEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** The session with `peer`, if any. */
  session(peer: string): WatchRoom | undefined {
    return this.#sessions.get(peer)?.room;
  }

  /**
   * Starts `path` for both: asks `peer` for a copy, offers the file when it has none, and starts once
   * the copy is there. Resolves with the first state; playing it already just joins.
   */
  async start(peer: string, path: string): Promise<WatchState> {
    const name = this.#online(peer);
    const f = await this.#copies.name(path), sha = f.sha;
    const s = await this.#open(name);
    if (s.room.session.state?.video === sha) {
      await this.#show(s, s.room.session.state);
      return s.room.session.state;
    }
    const has = await this.#ask(name, { kind: "ask", video: sha }, `a ${name} ${sha}`);
    if (!(has.kind === "has" && has.ok)) {
      const text = `${name} holds no copy of ${f.name}: offering it; the video starts once ${name} saved it`;
      this.#emit({ type: "note", peer: name, text, level: "info" });
      await this.#copies.offer(name, f.real, f.name);
    }
    return await s.room.control({ video: sha });
  }

  /** Joins the session with `peer` (a late start: whoever plays answers with where it is). */
  async join(peer: string): Promise<void> {
    const s = await this.#open(this.#online(peer));
    await s.room.join();
  }

  /** Plays, pauses or seeks for both. */
  control(peer: string, c: { play?: true; pause?: true; seek?: number }): Promise<WatchState> {
    return this.#playing(peer).room.control(c);
  }

  /** Where the player of the session with `peer` is, ms. */
  position(peer: string): number {
    return this.#playing(peer).room.follower.player.position;
  }

  /** Stops watching with `peer` here (the peer goes on). */
  leave(peer: string): void {
    const s = this.#sessions.get(peer);
    if (!s) return;
    clearInterval(s.timer);
    s.room.close();
    this.#sessions.delete(peer);
  }

  close(): void {
    for (const peer of [...this.#sessions.keys()]) this.leave(peer);
    this.#off();
  }

  /** The stored name of a connected peer; refused (`no_such_peer`, `offline`) else. */
  #online(peer: string): string {
    const name = normalizeName(peer.replace(/^@/, "")) ?? peer;
    const p = this.host.peers().find((p) => p.name === name);
    if (!p) throw new BackendError("no_such_peer", `No peer named ${peer}: connect to it first`);
    if (!p.online) throw new BackendError("offline", `${name} is not connected`);
    return name;
  }

  #playing(peer: string): Session {
    const s = this.#sessions.get(normalizeName(peer.replace(/^@/, "")) ?? peer);
    if (!s) {
      throw new BackendError("usage", `You are not watching with ${peer}: watch-together ${peer} first`);
    }
    if (!s.room.session.state) throw new BackendError("usage", `Nothing plays with ${peer} yet`);
    return s;
  }

  #emit(e: PeerWatchEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }

  /** The session with `peer`, opened with its clock estimated (a peer that never answers is refused). */
  async #open(peer: string): Promise<Session> {
    const known = this.#sessions.get(peer);
    if (known) return known;
    const me = this.host.name, key = convKey("user", me, peer), clock = new ClockOffset();
    const local = () => this.host.clock.now();
    const ask = (sent: number) => this.#ask(peer, { kind: "time", sent }, `t ${peer} ${sent}`);
    const reference = isReference(key, me);
    await sampleSessionClock(ask, clock, local, { key, me, n: reference ? 1 : CLOCK_SAMPLES });
    if (this.#sessions.has(peer)) return this.#sessions.get(peer)!;
    const s: Session = { peer, clock, deliver: null, video: "", path: null, room: null!, timer: 0 as never };
    s.room = new WatchRoom({
      room: key,
      me,
      channel: {
        send: (_room, payload) => this.signals.send(peer, payload),
        onSignal: (cb) => {
          s.deliver = (x) => cb({ from: x.from, room: key, mid: x.mid, plaintext: x.plaintext });
          return () => (s.deliver = null);
        },
      },
      player: this.player(peer),
      serverNow: () => clock.server(local()),
      mayControl: (u) => u === me || u === peer,
      onChange: (event) => {
        if (event.type !== "state" || event.by === me) return this.#changed(s, event);
        // After this player was brought into step: how long after the change that was (session clock).
        void s.room.follower.sync().then(() =>
          this.#changed(s, event, clock.server(local()) - event.state.at)
        );
      },
    });
    let ticks = 0;
    s.timer = setInterval(() => {
      void s.room.tick();
      if (reference || ++ticks % (RESAMPLE_MS / TICK_MS)) return;
      void sampleSessionClock(ask, clock, local, { key, me, n: 1 }).catch(() => {});
    }, TICK_MS);
    this.#sessions.set(peer, s);
    return s;
  }

  /** A change accepted (`step`: ms from when it was made to its reaching this player) or refused. */
  #changed(s: Session, event: WatchEvent, step?: number): void {
    const fresh = step !== undefined && step <= FRESH_MS ? { step: Math.max(0, Math.round(step)) } : {};
    this.#emit({ type: "watch", peer: s.peer, event, ...fresh });
    if (event.type === "state") void this.#show(s, event.state);
  }

  /** A state accepted: when its video is new here, this node's copy of it is found and told. */
  async #show(s: Session, state: WatchState): Promise<void> {
    if (s.video === state.video) return;
    s.video = state.video;
    s.path = await this.#copies.of(state.video);
    if (s.video !== state.video) return; // another video meanwhile
    if (!s.path) {
      const text = `${s.peer} plays a video you hold no copy of (SHA-256 ${state.video.slice(0, 16)}…): ` +
        `watch-together ${s.peer} PATH with your copy, or ask ${s.peer} to start it again (it is offered then)`;
      this.#emit({ type: "note", peer: s.peer, text, level: "warn" });
    }
    this.#emit({ type: "video", peer: s.peer, path: s.path, state, player: s.room.follower.player });
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

  /** A signal from a peer: answered (clock, copy), an awaited answer, or its session's control. */
  #arrived(sig: PeerSignal): void {
    if (!isWatch(sig.plaintext)) return;
    const from = sig.from;
    let c: WatchControl | null;
    try {
      c = decodeWatch(sig.plaintext, sig.mid, convKey("user", this.host.name, from));
    } catch (e) {
      return this.#emit({
        type: "watch",
        peer: from,
        event: { type: "refused", from, why: (e as Error).message },
      });
    }
    if (!c) return;
    if (c.kind === "time" && c.now === undefined) {
      return void this.#send(from, { ...c, now: this.host.clock.now() }).catch(() => {});
    }
    if (c.kind === "ask") {
      const has = (p: string | null) => this.#send(from, { kind: "has", video: c.video, ok: p !== null });
      return void this.#copies.of(c.video, from).then(has).catch(() => {});
    }
    if (c.kind === "time" || c.kind === "has") {
      return this.#waiting.get(c.kind === "time" ? `t ${from} ${c.sent}` : `a ${from} ${c.video}`)?.(c);
    }
    const s = this.#sessions.get(from);
    if (s) return s.deliver?.(sig);
    if (c.kind !== "state" || this.#invited.get(from) === c.state.video) return; // said once a video
    this.#invited.set(from, c.state.video);
    this.#emit({ type: "invited", peer: from, state: c.state });
  }
}

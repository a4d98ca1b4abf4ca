/**
 * Watch-together sessions by name — the one watch-together of every surface (issue 39.7, issue 70.1:
 * the scripted `watch-together`, the full-screen client's tui/watch_view.ts, peer mode's peer/watch.ts).
 * Each session is a `WatchRoom` (watch_room.ts) over a `WatchChannel` (backend_video.ts): its sealed
 * signals, who may control (`roomAdmins`, read again for a sender not known as one: `readAdmins`) and
 * the clock its times are on (`serverTime`, estimated by watch_channel.ts `sampleClock` as it opens and
 * once more every `resampleMs`); a tick every TICK_MS, on the injected `timers`, corrects drift. A name's key comes from `keyOf`.
 * Over a conversation core (`core`: either mode's `ChatClient`) the sessions talk through its
 * channel (watch_channel.ts `watchChannel`) and hear its events from the start until `close`; without
 * a server each session's channel has its DM's clock (`partyTime`).
 *
 * `hear(e)` is the one place the core's events reach the sessions (every surface's: a signal goes to the
 * session its key names here). `signal(name, s)`: a malformed, replayed or misdirected control is refused (a `watch` event) and
 * changes nothing; a question of a DM's session (never a room's) is answered (`time`: this clock; `ask`: `answer`, which a surface holding
 * copies overrides); an answer goes to the question awaiting it (`ask`, refused past ANSWER_MS; one to
 * no question is dropped); the rest goes, in order, to the session's room — opened for it with
 * `openOnSignal`, else a state is told as `invited`, once a video. Without a server a DM's times are its
 * reference party's clock, the name that sorts first in its key (`partyTime`; the reference asks once).
 *
 * A change by someone else is told once this player was brought into step, with how long after it was
 * made (session clock) that was, when fresh (`freshStep`); a state whose video is new to a session is
 * told as `video`, with this user's copy of it (`copyOf`). Time comes from the injected `now`.
 */
import { BackendError, type BackendEvent, type WatchChannel } from "../backend.ts";
import { systemTimers, type Timers } from "../../common/clock.ts";
import {
  CLOCK_SAMPLES,
  dmParties,
  sampleClock,
  signalKey,
  watchChannel,
  type WatchCore,
} from "./watch_channel.ts";
import { type WatchEvent, WatchRoom } from "./watch_room.ts";
import {
  ClockOffset,
  decodeWatch,
  encodeWatch,
  type Followed,
  isDmKey,
  type WatchControl,
  type WatchState,
} from "./watch_together.ts";
import { Playhead } from "./watch_viewer.ts";

/** Drift correction period, ms. */
export const TICK_MS = 100;
/** A state made longer ago than this is an answer to a late start, not a change just made, ms. */
export const FRESH_MS = 5000;
/** How long a party has to answer a question (clock, copy), ms. */
export const ANSWER_MS = 3000;

/** The step shown for a change told `ms` after it was made: none when it is not fresh. */
export function freshStep(ms: number): number | undefined {
  const step = Math.max(0, Math.round(ms));
  return step <= FRESH_MS ? step : undefined;
}

/** What the sessions tell their surface. */
export type SessionEvent =
  /** A change (`step`: ms from when it was made to its reaching the player here) or a refusal. */
  | { type: "watch"; name: string; event: WatchEvent; step?: number }
  /** `name` plays `state` while this user does not watch it (once a video). */
  | { type: "invited"; name: string; state: WatchState }
  /** The video of session `name` changed: this user's copy of it (`copyOf`; null: none here). */
  | { type: "video"; name: string; path: string | null; state: WatchState; player: Followed };

export interface WatchSessionsOptions {
  me: string;
  now: () => number;
  /** The session key of `name` (a room's name, a DM's conversation key). */
  keyOf(name: string): string;
  /** The channel the sessions talk over (`channelOf` may give one of each session's instead). */
  channel?: WatchChannel;
  /**
   * The core the sessions talk over and hear (heard until `close`), instead of `channel`: its
   * `watchChannel`, on the server's clock, or without a server (no `conn`) a DM's party's (`partyTime`).
   */
  core?: WatchCore & { on(l: (e: BackendEvent) => void): () => void };
  /** One more clock round trip this often, ms (0: never). */
  resampleMs: number;
  /** The name of a session as typed (default: as is). */
  nameOf?(typed: string): string;
  /** Why `name` did not answer a question within ANSWER_MS. */
  unanswered?(name: string): string;
  /** A watch signal of a session not open here opens it (else a state is told as `invited`). */
  openOnSignal?: boolean;
  /** What the drift tick waits on (default the runtime's timers). */
  timers?: Timers;
}

type Signal = { from: string; mid: string; plaintext: Uint8Array };
type Question = Extract<WatchControl, { kind: "ask" | "time" }>;

interface Open {
  ready: Promise<WatchRoom>;
  room: WatchRoom | null;
  /** Who may control, as last read (`readAdmins`). */
  admins: Set<string>;
  /** The session's signals, delivered in order (one may wait for the admins to be read again). */
  delivered: Promise<void>;
  deliver: ((s: Signal) => void) | null;
  timer: unknown;
  /** The video of the last state, told as `video`. */
  video: string;
}

/** The sessions of one user; `E`: the events a surface adds to `SessionEvent`. */
export class WatchSessions<E = never> {
  readonly #open = new Map<string, Open>();
  readonly #listeners = new Set<(e: SessionEvent | E) => void>();
  readonly #invited = new Map<string, string>(); // name → the video last told as `invited`
  /** Answers awaited, by question (`questionOf`). */
  readonly #waiting = new Map<string, (v: WatchControl) => void>();
  /** The sessions whose reference party answered a clock question. */
  readonly #probed = new Set<string>();
  /** The player of a new session (default: a playhead without pictures). */
  player: (name: string) => Followed;
  /** Stops hearing `o.core`. */
  readonly #off: () => void;

  constructor(readonly o: WatchSessionsOptions) {
    this.player = () => new Playhead(o.now);
    this.#off = o.core?.on((e) => this.hear(e)) ?? (() => {});
  }

  on(l: (e: SessionEvent | E) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** The session `name`, if open. */
  session(name: string): WatchRoom | undefined {
    return this.#open.get(name)?.room ?? undefined;
  }

  /** Who may control session `name`, read again (the room's signed log may have changed). */
  async readAdmins(name: string): Promise<string[]> {
    const s = this.#open.get(name);
    const admins = await this.channelOf(name).roomAdmins(this.o.keyOf(name));
    if (s) s.admins = new Set(admins);
    return admins;
  }

  /** Starts `video` in session `name` once `ready` says it may; playing it already just joins. */
  async start(name: string, video: string, ready?: () => Promise<void>): Promise<WatchState> {
    const room = await this.open(name);
    const state = room.session.state;
    if (state?.video === video) {
      await this.#show(name, state);
      return state;
    }
    await ready?.();
    return await room.control({ video });
  }

  /** Joins session `name` (a late start: whoever may control answers with the current state). */
  async join(name: string): Promise<void> {
    await (await this.open(name)).join();
  }

  /** Plays, pauses or seeks for everyone. */
  control(name: string, c: { play?: true; pause?: true; seek?: number }): Promise<WatchState> {
    return this.#playing(name).control(c);
  }

  /** Where the player of session `name` is, ms. */
  position(name: string): number {
    return this.#playing(name).follower.player.position;
  }

  /** Stops watching `name` here (the others go on). */
  leave(name: string): void {
    const s = this.#open.get(name);
    if (!s) return;
    if (s.timer !== undefined) (this.o.timers ?? systemTimers).clear(s.timer);
    s.room?.close();
    this.#open.delete(name);
  }

  close(): void {
    for (const name of [...this.#open.keys()]) this.leave(name);
    this.#off();
  }

  /**
   * The one hand-off of the core's events to the sessions (issue 70: the scripted `watch-together`, the
   * full-screen client, peer mode): a signal the core opened (core/receiving.ts) goes to the session its
   * key names here — a room's, or a DM's, named by its other party where `keyOf` names sessions so —;
   * every other event, and a signal of no session named here, is not theirs.
   */
  hear(e: BackendEvent): void {
    if (e.type !== "signal") return;
    const key = signalKey(e), name = key === null ? null : this.#nameOf(key);
    if (name !== null) this.signal(name, e);
  }

  /** The session named here whose key is `key` (`keyOf` undone): a DM's other party, or the key itself. */
  #nameOf(key: string): string | null {
    const two = dmParties(key), other = two && (two[0] === this.o.me ? two[1] : two[0]);
    if (other !== null && this.o.keyOf(other) === key) return other;
    return this.o.keyOf(key) === key ? key : null;
  }

  /** A signal heard from session `name` (its sender authenticated by the channel). */
  signal(name: string, s: Signal): void {
    let c;
    try {
      c = decodeWatch(s.plaintext, s.mid, this.o.keyOf(name));
    } catch (e) {
      const event = { type: "refused" as const, from: s.from, why: (e as Error).message };
      return this.emit({ type: "watch", name, event });
    }
    if (!c) return;
    // Questions are a DM's (peer mode's): one asked in a room would have every member answer the room.
    if ((c.kind === "time" || c.kind === "ask") && !isDmKey(this.o.keyOf(name))) return;
    if (c.kind === "time" && c.now === undefined) {
      return void this.send(name, { ...c, now: this.o.now() }).catch(() => {});
    }
    if (c.kind === "ask") return this.answer(name, c);
    if (c.kind === "time" || c.kind === "has") return this.#waiting.get(questionOf(name, c))?.(c);
    if (this.o.openOnSignal) void this.open(name).catch(() => {});
    const open = this.#open.get(name);
    if (open) {
      open.delivered = open.delivered.then(async () => {
        await open.ready;
        // Someone not known to control: the room's signed log may have made them one since.
        if (!open.admins.has(s.from)) await this.readAdmins(name).catch(() => {});
        open.deliver?.(s);
      }).catch(() => {});
      return;
    }
    if (c.kind !== "state" || this.#invited.get(name) === c.state.video) return;
    this.#invited.set(name, c.state.video);
    this.emit({ type: "invited", name, state: c.state });
  }

  /** The channel session `name` talks over; its `serverTime` is the session's clock. */
  protected channelOf(name: string): WatchChannel {
    const { core, channel } = this.o;
    if (core) return watchChannel(() => core, core.conn ? undefined : this.partyTime(name));
    if (!channel) throw new BackendError("unsupported", "Watching together needs end-to-end keys");
    return channel;
  }

  /** Answers a party's `ask` (do you hold a copy?); nothing is answered by default. */
  protected answer(_name: string, _c: Extract<WatchControl, { kind: "ask" }>): void {}

  /** This user's copy of `video` (by default the video itself: a server's). */
  protected copyOf(_name: string, video: string): Promise<string | null> {
    return Promise.resolve(video);
  }

  protected emit(e: SessionEvent | E): void {
    for (const l of [...this.#listeners]) l(e);
  }

  protected send(name: string, c: WatchControl): Promise<void> {
    const key = this.o.keyOf(name);
    return this.channelOf(name).signal(key, (mid) => encodeWatch(mid, key, c));
  }

  /** Sends question `c` to session `name` and waits for its answer. */
  protected ask(name: string, c: Question): Promise<WatchControl> {
    const q = questionOf(name, c);
    return new Promise<WatchControl>((resolve, reject) => {
      const end = (a: WatchControl | Error) => {
        clearTimeout(t);
        this.#waiting.delete(q);
        if (a instanceof Error) reject(a);
        else resolve(a);
      };
      const why = this.o.unanswered?.(name) ?? `${name} did not answer`;
      const t = setTimeout(() => end(new BackendError("unsupported", why)), ANSWER_MS);
      this.#waiting.set(q, end);
      this.send(name, c).catch(end);
    });
  }

  /** The clock of DM session `name` without a server: its reference party's (a `serverTime`). */
  protected partyTime(name: string): () => Promise<number> {
    const now = this.o.now, me = this.o.me;
    const reference = dmParties(this.o.keyOf(name))?.[0] === me;
    return async () => {
      if (reference && this.#probed.has(name)) return now();
      const sent = now(), a = await this.ask(name, { kind: "time", sent });
      this.#probed.add(name);
      return reference || a.kind !== "time" || a.now === undefined ? (sent + now()) / 2 : a.now;
    };
  }

  /** The session `name`, opened with its clock estimated and its controllers read. */
  open(name: string): Promise<WatchRoom> {
    const known = this.#open.get(name);
    if (known) return known.ready;
    const s: Open = {
      ready: null!,
      room: null,
      admins: new Set(),
      delivered: Promise.resolve(),
      deliver: null,
      timer: undefined,
      video: "",
    };
    s.ready = this.#start(name, s);
    s.ready.catch(() => this.#open.get(name) === s && this.#open.delete(name));
    this.#open.set(name, s);
    return s.ready;
  }

  async #start(name: string, s: Open): Promise<WatchRoom> {
    const { me, now } = this.o, key = this.o.keyOf(name), ch = this.channelOf(name);
    const clock = new ClockOffset();
    const [admins] = await Promise.all([ch.roomAdmins(key), sampleClock(ch, clock, now, CLOCK_SAMPLES)]);
    s.admins = new Set(admins);
    const room: WatchRoom = new WatchRoom({
      room: key,
      me,
      channel: {
        send: (_key, payload) => ch.signal(key, payload),
        onSignal: (cb) => {
          s.deliver = (x) => cb({ ...x, room: key });
          return () => (s.deliver = null);
        },
      },
      player: this.player(name),
      serverNow: () => clock.server(now()),
      mayControl: (u) => s.admins.has(u),
      onChange: (event) => {
        if (event.type !== "state" || event.by === me) return this.#changed(name, event);
        // After this player was brought into step: how long after the change that was (session clock),
        // when the player was told (a picture player's `toldAt`), else when the sync ended.
        const player = room.follower.player as { toldAt?: number }, before = player.toldAt;
        void room.follower.sync().then(() => {
          const told = player.toldAt !== undefined && player.toldAt !== before ? player.toldAt : now();
          this.#changed(name, event, clock.server(told) - event.state.at);
        });
      },
    });
    s.room = room;
    if (this.#open.get(name) !== s) { // left while it opened
      room.close();
      return room;
    }
    let ticks = 0;
    const every = this.o.resampleMs / TICK_MS;
    const timers = this.o.timers ?? systemTimers;
    const beat = () => {
      s.timer = timers.set(() => {
        if (this.#open.get(name) !== s) return;
        void room.tick();
        if (every && ++ticks % every === 0) void sampleClock(ch, clock, now, 1).catch(() => {});
        beat();
      }, TICK_MS);
    };
    beat();
    return room;
  }

  #changed(name: string, event: WatchEvent, ms?: number): void {
    const step = ms === undefined ? undefined : freshStep(ms);
    this.emit({ type: "watch", name, event, ...(step === undefined ? {} : { step }) });
    if (event.type === "state") void this.#show(name, event.state);
  }

  /** A state accepted: when its video is new to the session, this user's copy of it is told. */
  async #show(name: string, state: WatchState): Promise<void> {
    const s = this.#open.get(name);
    if (!s?.room || s.video === state.video) return;
    s.video = state.video;
    const path = await this.copyOf(name, state.video);
    if (s.video !== state.video || this.#open.get(name) !== s) return; // another video meanwhile, or left
    this.emit({ type: "video", name, path, state, player: s.room.follower.player });
  }

  /** The session `typed` names, as the sessions name it (`nameOf`: peer mode's "@Bob" is bob's). */
  named(typed: string): string {
    return this.o.nameOf?.(typed) ?? typed;
  }

  /** The open session `name` with a state; refused (`usage`) else. */
  #playing(typed: string): WatchRoom {
    const name = this.named(typed);
    const s = this.#open.get(name)?.room;
    if (!s) {
      throw new BackendError("usage", `You are not watching with ${typed}: watch-together ${typed} first`);
    }
    if (!s.session.state) throw new BackendError("usage", `Nothing plays with ${typed} yet`);
    return s;
  }
}

/** Where the answer to a question is awaited: `a NAME SHA` (copy) or `t NAME SENT` (clock). */
function questionOf(name: string, c: Exclude<WatchControl, { kind: "state" | "hello" }>): string {
  return c.kind === "time" ? `t ${name} ${c.sent}` : `a ${name} ${c.video}`;
}

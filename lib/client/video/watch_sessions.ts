/**
 * Watch-together sessions by name (issue 39.7; one watch-together, issue 70.1): each session opened is
 * a `WatchRoom` (watch_room.ts) over a `WatchChannel` (backend_video.ts) — its sealed signals, who may
 * control (`roomAdmins`) and the clock its times are on (`serverTime`, estimated by watch_channel.ts
 * `sampleClock` when the session opens and one round trip more every `resampleMs`). A tick every
 * TICK_MS corrects drift. Peer mode (peer/watch.ts) names a session by its peer, with a channel of its
 * own per peer (`channelOf`); a name's session key comes from `keyOf`.
 *
 * `signal(name, s)` hands over a signal heard from session `name`: a malformed, replayed or
 * misdirected one is refused (a `watch` event) and changes nothing; one of an open session goes to its
 * room; a state of a session not open here is told as `invited` once a video. An accepted change made
 * by someone else is told once this player was brought into step, with how long after it was made
 * (on the session's clock) that was, when it is fresh (`freshStep`). Time comes from the injected `now`.
 */
import { BackendError, type WatchChannel } from "../backend.ts";
import { CLOCK_SAMPLES, sampleClock } from "./watch_channel.ts";
import { type WatchEvent, WatchRoom } from "./watch_room.ts";
import { ClockOffset, decodeWatch, type Followed, type WatchState } from "./watch_together.ts";
import { Playhead } from "./watch_viewer.ts";

/** Drift correction period, ms. */
export const TICK_MS = 100;
/** A state made longer ago than this is an answer to a late start, not a change just made, ms. */
export const FRESH_MS = 5000;

/** The step shown for a change told `ms` after it was made: none when it is not fresh. */
export const freshStep = (ms: number): number | undefined =>
  ms <= FRESH_MS ? Math.max(0, Math.round(ms)) : undefined;

/** What the sessions tell their surface. */
export type SessionEvent =
  /** A change (`step`: ms from when it was made to its reaching the player here) or a refusal. */
  | { type: "watch"; name: string; event: WatchEvent; step?: number }
  /** `name` plays `state` while this user does not watch it (once a video). */
  | { type: "invited"; name: string; state: WatchState };

export interface WatchSessionsOptions {
  me: string;
  now: () => number;
  /** The session key of `name` (a room's name, a DM's conversation key). */
  keyOf(name: string): string;
  /** The channel the sessions talk over (`channelOf` may give one of each session's instead). */
  channel?: WatchChannel;
  /** One more clock round trip this often, ms (0: never). */
  resampleMs: number;
  /** The name of a session as typed (default: as is). */
  nameOf?(typed: string): string;
}

type Signal = { from: string; mid: string; plaintext: Uint8Array };

interface Open {
  room: WatchRoom;
  deliver: ((s: Signal) => void) | null;
  timer: ReturnType<typeof setInterval>;
}

/** The sessions of one user; `E`: the events a surface adds to `SessionEvent`. */
export class WatchSessions<E = never> {
  readonly #open = new Map<string, Open>();
  readonly #listeners = new Set<(e: SessionEvent | E) => void>();
  readonly #invited = new Map<string, string>(); // name → the video last told as `invited`
  /** The player of a new session (default: a playhead without pictures). */
  player: (name: string) => Followed;

  constructor(readonly o: WatchSessionsOptions) {
    this.player = () => new Playhead(o.now);
  }

  on(l: (e: SessionEvent | E) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** The session `name`, if open. */
  session(name: string): WatchRoom | undefined {
    return this.#open.get(name)?.room;
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
    clearInterval(s.timer);
    s.room.close();
    this.#open.delete(name);
  }

  close(): void {
    for (const name of [...this.#open.keys()]) this.leave(name);
  }

  /** A signal heard from session `name` (its sender authenticated by the channel). */
  signal(name: string, s: Signal): void {
    let c;
    try {
      c = decodeWatch(s.plaintext, s.mid, this.o.keyOf(name));
    } catch (e) {
      return this.emit({
        type: "watch",
        name,
        event: { type: "refused", from: s.from, why: (e as Error).message },
      });
    }
    if (!c) return;
    const open = this.#open.get(name);
    if (open) return open.deliver?.(s);
    if (c.kind !== "state" || this.#invited.get(name) === c.state.video) return;
    this.#invited.set(name, c.state.video);
    this.emit({ type: "invited", name, state: c.state });
  }

  /** The channel session `name` talks over; its `serverTime` is the session's clock. */
  protected channelOf(_name: string): WatchChannel {
    if (!this.o.channel) throw new BackendError("unsupported", "Watching together needs end-to-end keys");
    return this.o.channel;
  }

  protected emit(e: SessionEvent | E): void {
    for (const l of [...this.#listeners]) l(e);
  }

  /** The session `name`, opened with its clock estimated and its controllers read. */
  protected async open(name: string): Promise<WatchRoom> {
    const known = this.#open.get(name);
    if (known) return known.room;
    const { me, now } = this.o, key = this.o.keyOf(name), ch = this.channelOf(name);
    const clock = new ClockOffset();
    const [admins] = await Promise.all([ch.roomAdmins(key), sampleClock(ch, clock, now, CLOCK_SAMPLES)]);
    if (this.#open.has(name)) return this.#open.get(name)!.room;
    const s: Open = { deliver: null, room: null!, timer: 0 as never };
    s.room = new WatchRoom({
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
      mayControl: (u) => admins.includes(u),
      onChange: (event) => {
        if (event.type !== "state" || event.by === me) return this.#changed(name, event);
        // After this player was brought into step: how long after the change that was (session clock).
        void s.room.follower.sync().then(() =>
          this.#changed(name, event, clock.server(now()) - event.state.at)
        );
      },
    });
    let ticks = 0;
    const every = this.o.resampleMs / TICK_MS;
    s.timer = setInterval(() => {
      void s.room.tick();
      if (every && ++ticks % every === 0) void sampleClock(ch, clock, now, 1).catch(() => {});
    }, TICK_MS);
    this.#open.set(name, s);
    return s.room;
  }

  #changed(name: string, event: WatchEvent, ms?: number): void {
    const step = ms === undefined ? undefined : freshStep(ms);
    this.emit({ type: "watch", name, event, ...(step === undefined ? {} : { step }) });
  }

  /** The open session `name` with a state; refused (`usage`) else. */
  #playing(typed: string): WatchRoom {
    const name = this.o.nameOf?.(typed) ?? typed;
    const s = this.#open.get(name);
    if (!s) {
      throw new BackendError("usage", `You are not watching with ${typed}: watch-together ${typed} first`);
    }
    if (!s.room.session.state) throw new BackendError("usage", `Nothing plays with ${typed} yet`);
    return s.room;
  }
}

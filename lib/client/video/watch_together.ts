/**
 * Watch together (issue 39.7) — pure: the shared state of a room's or a DM's viewing session and the
 * rules that keep every viewer in step. A session is named by its key, bound into each control
 * (`room`): a room's name, or a DM's conversation key ("d:alice:bob", the same at both ends; no room
 * name holds a colon). No sockets, no timers: time comes from an injected clock.
 *
 * The session state (which server video, its position at a reference time on the server's clock,
 * paused, rate) travels as a sealed room control message, `{v: 1, k: "watch", mid, room, n, video,
 * pos, at, paused, rate}` — inside the room's end-to-end encryption, so the sender is proven by the
 * room's sender key; the server only relays it. A late joiner sends `{v: 1, k: "watch", mid, room,
 * hello: true}` and whoever may control answers with the current state.
 *
 * `WatchSession.receive` decides: a state from someone without the right (`mayControl`, by default
 * the room's admins as the signed room log says; in a DM, either of the two), one for another session, one re-sent under another
 * message id, or one not newer than the current state (order: n, then at, then sender) is refused
 * and changes nothing. `positionAt(serverMs)` is where the video is at a server time.
 *
 * `WatchFollower` drives one viewer's own player (its renderer and size are its own) toward the
 * shared state: pause/resume as the state says and a seek whenever the player is further than
 * `DRIFT_MS` from where it should be. `ClockOffset` estimates the server's clock from replies.
 *
 * Peer mode (no server, peer/watch.ts) adds three controls to the same payload, asked and answered
 * in watch_sessions.ts: `ask` (a SHA-256: do you hold a copy of this video?), answered by `has`
 * (+ `ok`), and `time` (a clock round trip: `time` is the asker's clock, `now` the answerer's); the
 * video of a peer session's state is the SHA-256 of the file each side plays its own copy of.
 */
import { utf8, utf8Strict } from "../../common/bytes.ts";

/** A player further than this from the shared position is sought back into step, ms. */
export const DRIFT_MS = 120;
const MAX_VIDEO = 200;
const MAX_RATE = 4;

/** The shared state of a room's viewing session. */
export interface WatchState {
  /** Change counter: each change is the previous one's n + 1. */
  n: number;
  /** The server video's name (the server's video library). */
  video: string;
  /** Position in the video at `at`, ms. */
  pos: number;
  /** The reference time, ms on the server's clock. */
  at: number;
  paused: boolean;
  rate: number;
}

export type WatchControl =
  | { kind: "state"; state: WatchState }
  | { kind: "hello" }
  /** Peer mode: do you hold a copy whose SHA-256 is `video`? (`has` answers; peer/watch.ts) */
  | { kind: "ask"; video: string }
  | { kind: "has"; video: string; ok: boolean }
  /** Peer mode: a clock round trip, `sent` on the asker's clock, `now` on the answerer's. */
  | { kind: "time"; sent: number; now?: number };

export interface WatchPayload {
  v: 1;
  k: "watch";
  mid: string;
  room: string;
  hello?: true;
  ask?: string;
  has?: string;
  ok?: boolean;
  time?: number;
  now?: number;
  n?: number;
  video?: string;
  pos?: number;
  at?: number;
  paused?: boolean;
  rate?: number;
}

/** The plaintext of a watch control for `room`, bound to message id `mid`. */
export function encodeWatch(mid: string, room: string, c: WatchControl): Uint8Array {
  const head = { v: 1, k: "watch", mid, room } as const;
  const p: WatchPayload = c.kind === "hello"
    ? { ...head, hello: true }
    : c.kind === "ask"
    ? { ...head, ask: c.video }
    : c.kind === "has"
    ? { ...head, has: c.video, ok: c.ok }
    : c.kind === "time"
    ? { ...head, time: c.sent, ...(c.now === undefined ? {} : { now: c.now }) }
    : { ...head, ...c.state };
  return utf8.encode(JSON.stringify(p));
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const SHA256 = /^[0-9a-f]{64}$/;

/** The peer-mode controls (ask, has, time) of a payload `p`, or null when it is none of them. */
function peerControl(p: Record<string, unknown>): WatchControl | null {
  const { ask, has, ok, time, now } = p;
  if (ask === undefined && has === undefined && time === undefined) return null;
  if (typeof ask === "string" && SHA256.test(ask)) return { kind: "ask", video: ask };
  if (typeof has === "string" && SHA256.test(has) && typeof ok === "boolean") {
    return { kind: "has", video: has, ok };
  }
  if (finite(time) && (now === undefined || finite(now))) {
    return { kind: "time", sent: time, ...(now === undefined ? {} : { now }) };
  }
  throw new SyntaxError("Malformed watch control");
}

/**
 * The watch control in an opened room body, or null when the body is another kind of payload.
 * Throws SyntaxError for a watch payload that is malformed, re-sent under another message id
 * (replay) or sealed for another room.
 */
export function decodeWatch(b: Uint8Array, mid: string, room: string): WatchControl | null {
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(utf8Strict.decode(b));
  } catch {
    return null;
  }
  if (typeof p !== "object" || p === null || p.k !== "watch") return null;
  if (p.v !== 1) throw new SyntaxError("Malformed watch control");
  if (p.mid !== mid) throw new SyntaxError("The watch control was re-sent under another id (replay)");
  if (p.room !== room) throw new SyntaxError("The watch control belongs to another room");
  if (p.hello === true) return { kind: "hello" };
  const peer = peerControl(p);
  if (peer) return peer;
  const { n, video, pos, at, paused, rate } = p;
  if (
    !finite(n) || !Number.isInteger(n) || n < 1 || typeof video !== "string" || !video ||
    video.length > MAX_VIDEO || !finite(pos) || pos < 0 || !finite(at) || at < 0 ||
    typeof paused !== "boolean" || !finite(rate) || rate <= 0 || rate > MAX_RATE
  ) throw new SyntaxError("Malformed watch control");
  return { kind: "state", state: { n, video, pos, at, paused, rate } };
}

/** True for a DM's session key ("d:alice:bob", protocol/names.ts `convKey`); a room's is its name. */
export const isDmKey = (key: string): boolean => key.startsWith("d:");

/** Where the video of `s` is at server time `serverMs`, ms. */
export function positionAt(s: WatchState, serverMs: number): number {
  if (s.paused) return s.pos;
  return Math.max(0, s.pos + (serverMs - s.at) * s.rate);
}

export type Verdict = { ok: true } | { ok: false; why: string };

/** One room's session as this client sees it. */
export class WatchSession {
  #state: WatchState | null = null;
  #by = "";

  constructor(
    readonly room: string,
    /** Whether `user` may play, pause and seek (by default: an admin of the room's signed log). */
    readonly mayControl: (user: string) => boolean,
  ) {}

  get state(): WatchState | null {
    return this.#state;
  }

  /** Who set the current state. */
  get by(): string {
    return this.#by;
  }

  /** Applies a state change from `from` when it is allowed and newer; otherwise changes nothing. */
  receive(from: string, s: WatchState): Verdict {
    if (!this.mayControl(from)) {
      return {
        ok: false,
        why: `${from} may not control ${isDmKey(this.room) ? "this DM" : `#${this.room}`}'s video`,
      };
    }
    const cur = this.#state;
    if (cur && !newer(s, from, cur, this.#by)) {
      return { ok: false, why: `an old or replayed state (n ${s.n}, current ${cur.n})` };
    }
    this.#state = { ...s };
    this.#by = from;
    return { ok: true };
  }

  /** The next state after a change made now (`serverMs`) by this client; apply it with `receive`. */
  change(
    serverMs: number,
    c: { play?: true; pause?: true; seek?: number; video?: string; rate?: number },
  ): WatchState {
    const cur = this.#state;
    if (!cur && !c.video) throw new Error("no video is playing: start one first");
    const base = cur ?? { n: 0, video: c.video!, pos: 0, at: serverMs, paused: false, rate: 1 };
    const next: WatchState = {
      n: base.n + 1,
      video: c.video ?? base.video,
      pos: c.video ? 0 : positionAt(base, serverMs),
      at: Math.max(serverMs, base.at),
      paused: c.pause ? true : c.play || c.video ? false : base.paused,
      rate: c.rate ?? base.rate,
    };
    if (c.seek !== undefined) next.pos = Math.max(0, c.seek);
    return next;
  }
}

/** True when (a, byA) orders after (b, byB): by n, then reference time, then sender name. */
function newer(a: WatchState, byA: string, b: WatchState, byB: string): boolean {
  if (a.n !== b.n) return a.n > b.n;
  if (a.at !== b.at) return a.at > b.at;
  return byA > byB;
}

/** What a follower needs of a player (VideoPlayer has it all). */
export interface Followed {
  readonly position: number;
  readonly paused: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  seekTo(ms: number): Promise<void>;
}

/** Keeps one viewer's player in step with the session: call `sync` on each change and every tick. */
export class WatchFollower {
  #busy: Promise<void> = Promise.resolve();

  constructor(
    readonly session: WatchSession,
    readonly player: Followed,
    /** Now on the server's clock (the local clock plus a `ClockOffset`). */
    readonly serverNow: () => number,
    readonly driftMs = DRIFT_MS,
  ) {}

  /** Brings the player to the shared state; calls never overlap (a call waits for the one before). */
  sync(): Promise<void> {
    this.#busy = this.#busy.then(() => this.#sync()).catch(() => {});
    return this.#busy;
  }

  async #sync(): Promise<void> {
    const s = this.session.state;
    if (!s) return;
    const want = positionAt(s, this.serverNow());
    if (Math.abs(this.player.position - want) > this.driftMs) await this.player.seekTo(want);
    if (s.paused && !this.player.paused) await this.player.pause();
    if (!s.paused && this.player.paused) await this.player.resume();
  }
}

/**
 * The server's clock as seen from here: each reply carrying the server's time gives a sample
 * (sent, server time, received on the local clock); the sample with the shortest round trip wins,
 * the server's time taken as the middle of it.
 */
export class ClockOffset {
  #offset = 0;
  #rtt = Infinity;

  sample(sentMs: number, serverMs: number, receivedMs: number): void {
    const rtt = receivedMs - sentMs;
    if (rtt < 0 || rtt >= this.#rtt) return;
    this.#rtt = rtt;
    this.#offset = serverMs - (sentMs + rtt / 2);
  }

  /** Server time minus local time, ms. */
  get offset(): number {
    return this.#offset;
  }

  /** Server time at local time `localMs`. */
  server(localMs: number): number {
    return localMs + this.#offset;
  }
}

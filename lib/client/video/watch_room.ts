/**
 * One viewer's side of a room's watch-together session: ties the pure rules (watch_together.ts) to a
 * channel of sealed room signals and to the viewer's own player. A control that arrives is decoded
 * (bound to its message id and room), applied when the session accepts it, and the player is brought
 * into step at once; a late joiner's hello is answered with the current state by a viewer who may
 * control. `tick()` (the caller's timer, every ~100 ms) corrects drift. Every state change accepted
 * or refused is reported through `onChange` — what the scripted `watch-together` prints as a line.
 *
 * The channel is the contract the end-to-end codec must offer (issue 35.1's registry of control
 * kinds): `send` seals a payload under the room's sender key and relays it to the members' live
 * sessions; `onSignal` hands over each opened one with its authenticated sender. Nothing here reads
 * a clock or a socket.
 */
import {
  decodeWatch,
  encodeWatch,
  type Followed,
  type Verdict,
  type WatchControl,
  WatchFollower,
  WatchSession,
  type WatchState,
} from "./watch_together.ts";

export interface SealedRoomSignals {
  /** Seals `payload(mid)` for the members of `room` (end to end) and relays it to their live sessions. */
  send(room: string, payload: (mid: string) => Uint8Array): Promise<void>;
  /** Each opened signal: its authenticated sender, room and message id. Returns the unsubscribe. */
  onSignal(cb: (s: { from: string; room: string; mid: string; plaintext: Uint8Array }) => void): () => void;
}

export type WatchEvent =
  | { type: "state"; by: string; state: WatchState }
  | { type: "refused"; from: string; why: string };

export interface WatchRoomOptions {
  room: string;
  me: string;
  channel: SealedRoomSignals;
  player: Followed;
  /** Now on the server's clock. */
  serverNow: () => number;
  /** Who may control (by default the room's admins from its signed log). */
  mayControl: (user: string) => boolean;
  onChange?: (e: WatchEvent) => void;
}

export class WatchRoom {
  readonly session: WatchSession;
  readonly follower: WatchFollower;
  readonly #off: () => void;

  constructor(readonly o: WatchRoomOptions) {
    this.session = new WatchSession(o.room, o.mayControl);
    this.follower = new WatchFollower(this.session, o.player, o.serverNow);
    this.#off = o.channel.onSignal((s) => {
      if (s.room === o.room) void this.#receive(s.from, s.mid, s.plaintext);
    });
  }

  /** Joins: asks whoever may control for the current state. */
  join(): Promise<void> {
    return this.#send({ kind: "hello" });
  }

  /** Starts `video`, plays, pauses or seeks for everyone (refused here without the right). */
  async control(c: { video?: string; play?: true; pause?: true; seek?: number }): Promise<WatchState> {
    if (!this.o.mayControl(this.o.me)) throw new Error(`only an admin of #${this.o.room} controls its video`);
    const s = this.session.change(this.o.serverNow(), c);
    this.#apply(this.o.me, s);
    // Sent at once, not after this player's own seek (a round trip to the server's ffmpeg).
    await Promise.all([this.#send({ kind: "state", state: s }), this.follower.sync()]);
    return s;
  }

  /** Drift correction; call on a timer. */
  tick(): Promise<void> {
    return this.follower.sync();
  }

  close(): void {
    this.#off();
  }

  #send(c: WatchControl): Promise<void> {
    return this.o.channel.send(this.o.room, (mid) => encodeWatch(mid, this.o.room, c));
  }

  async #receive(from: string, mid: string, plaintext: Uint8Array): Promise<void> {
    let c: WatchControl | null;
    try {
      c = decodeWatch(plaintext, mid, this.o.room);
    } catch (e) {
      this.o.onChange?.({ type: "refused", from, why: (e as Error).message });
      return;
    }
    if (!c || from === this.o.me) return;
    if (c.kind === "hello") {
      const s = this.session.state;
      if (s && this.o.mayControl(this.o.me)) await this.#send({ kind: "state", state: s });
      return;
    }
    if (c.kind !== "state") return; // questions (copy, clock): watch_sessions.ts
    if (this.#apply(from, c.state).ok) await this.follower.sync();
  }

  #apply(from: string, s: WatchState): Verdict {
    const v = this.session.receive(from, s);
    if (v.ok) this.o.onChange?.({ type: "state", by: from, state: s });
    else if (!(from === this.session.by && JSON.stringify(s) === JSON.stringify(this.session.state))) {
      // a re-sent copy of the current state (an answer to someone's hello) is not news
      this.o.onChange?.({ type: "refused", from, why: v.why });
    }
    return v;
  }
}

/** The line the scripted `watch-together` prints for an event. */
export function watchLine(e: WatchEvent): string {
  if (e.type === "refused") return `refused ${e.from}: ${e.why}`;
  const s = e.state;
  const at = (s.pos / 1000).toFixed(3);
  return `${s.paused ? "paused" : "playing"} ${s.video} at ${at}s by ${e.by} (n ${s.n})`;
}

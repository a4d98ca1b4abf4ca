/**
 * A viewer's player as watch together follows it (issue 39.7): `WatchedPlayer` is the `Followed` a
 * `WatchFollower` drives. Its position is a playhead on the viewer's clock (`Playhead`), not the
 * last frame the picture player drew: a real player's frames trail a seek by the server's restart
 * time, and a follower that compared frames would seek again and again while they come. Each
 * pause, resume and seek goes to the playhead and to the attached picture player (none while the
 * viewer only listens), so the shared state is applied to the picture at once; `toldAt` is the
 * local time the picture player was last told (the sync logic's own timestamp of applying).
 * `Playhead` is that position alone, without pictures (the scripted sessions' player).
 */
import type { Followed } from "./watch_together.ts";

/** The `Followed` of one viewer: a playhead, forwarded to the picture player once one is attached. */
export class WatchedPlayer implements Followed {
  #head: Playhead;
  #target: Followed | null = null;
  /** Local time of the last pause, resume or seek handed to the picture player; -1 before any. */
  toldAt = -1;

  constructor(readonly now: () => number) {
    this.#head = new Playhead(now);
  }

  get position(): number {
    return this.#head.position;
  }

  get paused(): boolean {
    return this.#head.paused;
  }

  /** The picture player now showing the video (null: none), playing from `pos`. */
  async attach(target: Followed | null, pos = 0): Promise<void> {
    this.#target = target;
    this.#head = new Playhead(this.now);
    await this.#head.seekTo(pos);
    await this.#head.resume();
  }

  async pause(): Promise<void> {
    await this.#head.pause();
    await this.#apply((t) => t.pause());
  }

  async resume(): Promise<void> {
    await this.#head.resume();
    await this.#apply((t) => t.resume());
  }

  async seekTo(ms: number): Promise<void> {
    await this.#head.seekTo(ms);
    await this.#apply((t) => t.seekTo(ms));
  }

  async #apply(op: (t: Followed) => Promise<void>): Promise<void> {
    if (!this.#target) return;
    this.toldAt = this.now();
    await op(this.#target);
  }
}

/** A playhead without pictures (the scripted `watch-together`): position on an injected clock. */
export class Playhead implements Followed {
  #pos = 0;
  #paused = true;
  #since: number;

  constructor(readonly now: () => number) {
    this.#since = now();
  }

  get position(): number {
    return this.#paused ? this.#pos : this.#pos + (this.now() - this.#since);
  }

  get paused(): boolean {
    return this.#paused;
  }

  pause(): Promise<void> {
    this.#pos = this.position;
    this.#paused = true;
    return Promise.resolve();
  }

  resume(): Promise<void> {
    this.#since = this.now();
    this.#paused = false;
    return Promise.resolve();
  }

  seekTo(ms: number): Promise<void> {
    this.#pos = ms;
    this.#since = this.now();
    return Promise.resolve();
  }
}

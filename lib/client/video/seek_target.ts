/**
 * Where a player is heading — pure. A seek asked for but not yet seen on screen is the base of the
 * next relative seek and the position the status line shows: pressing → three times quickly goes 15 s
 * on, not 5 s three times from the same frame. The target is dropped once a frame near it is drawn
 * (the seek arrived) or, should none come (the server clamped it, the stream ended), a little later.
 */

/** How near a drawn frame must be to the target to count as the seek arrived (ms of video). */
const NEAR_MS = 1500;
/** How long (ms of wall time) a target stands without a frame near it. */
const STANDS_MS = 3000;

export class SeekTarget {
  #to: number | null = null;
  #at = 0;

  /** `now`: the clock the target's age is measured on (ms). */
  constructor(readonly now: () => number) {}

  /** A seek to `ms` was asked for (clamped to 0 … `length` when the length is known). */
  set(ms: number, length?: number): number {
    const to = Math.max(0, length !== undefined && length > 0 ? Math.min(ms, length) : ms);
    this.#to = to;
    this.#at = this.now();
    return to;
  }

  /** A frame at `pts` was drawn. */
  drawn(pts: number): void {
    if (this.#to !== null && Math.abs(pts - this.#to) <= NEAR_MS) this.#to = null;
  }

  /** Where the player is, or is heading: the pending target, else `shown` (the last drawn frame's time). */
  position(shown: number): number {
    if (this.#to !== null && this.now() - this.#at > STANDS_MS) this.#to = null;
    return this.#to ?? shown;
  }
}

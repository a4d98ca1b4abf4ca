/**
 * Pacer — pure presentation timing. Given the source frame rate and an injected clock, it says
 * when a frame with presentation time `pts` (ms) is due on the wall clock, and keeps that right
 * across pause, resume and seek. No timers: callers ask `delayFor(pts)` and sleep themselves.
 */

import type { Clock } from "../common/clock.ts";

export class Pacer {
  readonly fps: number;
  readonly frameMs: number;
  #clock: Clock;
  #anchorWall = 0; // wall time at which #anchorPts is due
  #anchorPts = 0;
  #pausedAt: number | null = null;

  constructor(fps: number, clock: Clock, startPtsMs = 0) {
    if (!(fps > 0)) throw new RangeError("Frame rate must be positive");
    this.fps = fps;
    this.frameMs = 1000 / fps;
    this.#clock = clock;
    this.#anchorWall = clock.now();
    this.#anchorPts = startPtsMs;
  }

  get paused(): boolean {
    return this.#pausedAt !== null;
  }

  /** Presentation time (ms) of frame `index` counted from the start of the video. */
  ptsOf(index: number): number {
    return index * this.frameMs;
  }

  /** The frame index whose presentation time is `pts` (rounded to the nearest frame). */
  indexAt(pts: number): number {
    return Math.round(pts / this.frameMs);
  }

  /** Wall-clock time (ms) at which the frame with presentation time `pts` is due. */
  dueAt(pts: number): number {
    const shift = this.#pausedAt === null ? 0 : this.#clock.now() - this.#pausedAt;
    return this.#anchorWall + shift + (pts - this.#anchorPts);
  }

  /** Milliseconds to wait before showing `pts`: ≤ 0 means now; Infinity while paused. */
  delayFor(pts: number): number {
    if (this.#pausedAt !== null) return Infinity;
    return this.dueAt(pts) - this.#clock.now();
  }

  /** The presentation time that is playing now. */
  position(): number {
    const now = this.#pausedAt ?? this.#clock.now();
    return Math.max(0, this.#anchorPts + (now - this.#anchorWall));
  }

  pause(): void {
    if (this.#pausedAt === null) this.#pausedAt = this.#clock.now();
  }

  resume(): void {
    if (this.#pausedAt === null) return;
    this.#anchorWall += this.#clock.now() - this.#pausedAt;
    this.#pausedAt = null;
  }

  /** Makes `pts` due now (or at resume time, if paused). */
  seek(pts: number): void {
    const now = this.#clock.now();
    this.#anchorWall = now;
    this.#anchorPts = pts;
    if (this.#pausedAt !== null) this.#pausedAt = now;
  }
}

/**
 * When a paced frame is due (VideoPlayer's clock for a source with a `lead`, which sends frames
 * early): each frame is shown at its presentation time, anchored on the first frame and again after
 * `kick()` (pause, resume, seek, stop), on a jump in the frames' times, or when the source holds a
 * backlog beyond the lead. Time and sleeping are injected; no timers of its own.
 */

/** A frame this far (ms) past its time, or more than the lead + this early, re-anchors the clock. */
export const REANCHOR_MS = 1000;

/** What the clock asks of its player at each wait. */
export interface DueState {
  /** How early the source sends frames, ms (0 or absent: not paced). */
  lead(): number;
  /** Frames the source holds beyond the one asked for. */
  backlog(): number;
  paused(): boolean;
  stopping(): boolean;
}

/** The wall time at which each frame of a paced source is due. */
export class DueClock {
  /** The wall time at which the frame of `pts` is due (null: the next frame sets it). */
  #anchor: { wall: number; pts: number } | null = null;
  /** Aborted (and replaced) by `kick()`, to end a wait for a frame's time. */
  #wake = new AbortController();

  constructor(
    readonly state: DueState,
    readonly now: () => number,
    readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  ) {}

  /** Ends a wait for a frame's time (the clock is set again at the next frame). */
  kick(): void {
    this.#anchor = null;
    this.#wake.abort();
    this.#wake = new AbortController();
  }

  /**
   * Waits until the frame of `pts` is due, and while paused (an unpaced source: at once). A frame
   * far outside the lead (a seek, or the source fell behind), or a backlog beyond the lead, sets
   * the clock again. False when stopping.
   */
  async untilDue(pts: number): Promise<boolean> {
    const s = this.state;
    const lead = s.lead();
    if (!(lead > 0)) return !s.stopping();
    while (!s.stopping()) {
      const signal = this.#wake.signal;
      if (s.paused()) {
        await this.sleep(Infinity, signal);
        continue;
      }
      const now = this.now();
      const a = this.#anchor;
      const wait = a ? a.wall + (pts - a.pts) - now : 0;
      // Re-anchored: at the first frame, on a jump, or when more than a lead is held (this player
      // started late, e.g. a slow first picture; showing this frame now brings it back to the lead).
      const over = wait > 0 && s.backlog() > 0;
      if (!a || over || wait > lead + REANCHOR_MS || wait < -REANCHOR_MS) {
        this.#anchor = { wall: now, pts };
        return true;
      }
      if (wait < 1) return true;
      await this.sleep(wait, signal);
      if (!signal.aborted) return !s.stopping();
    }
    return false;
  }
}

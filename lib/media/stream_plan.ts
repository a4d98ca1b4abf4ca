/**
 * `SegmentPlanner`: the rendition choices of one `VideoStream` (stream.ts), with no I/O. For a
 * position it plans the next ffmpeg segment: the rendition the mode picks ("thirds": the third the
 * position falls in, and how many frames until the next one; "adaptive": the adaptive state,
 * created on first use; or a fixed rendition, else the largest there is) and the frame size for
 * the viewer's pane. In adaptive mode it also decides after each frame (at most every 500 ms, and
 * only after 1 s of measuring) whether another rendition is wanted. It holds the mode, the pane
 * and the reported throughput; time comes from the injected clock.
 */

import type { Clock } from "../common/clock.ts";
import { type AdaptiveState, adaptiveStep, initialAdaptive, targetSize } from "./adaptive.ts";
import type { VideoInfo } from "./library.ts";
import type { StreamMode } from "./stream_types.ts";
import { planThirds, type Rendition, segmentForFrame } from "./thirds.ts";

/** A viewer's report counts for this long (it sends one about every second). */
const VIEWER_REPORT_MS = 3000;

/** One run of ffmpeg: what it decodes, from where, and at which size. */
export interface Segment {
  rendition: Rendition;
  startMs: number;
  /** Frames to take, or undefined for "to the end". */
  frames?: number;
  width: number;
  height: number;
}

/** What the viewer took, measured by the stream, for the adaptive check. */
export interface Measured {
  /** Frames per second the viewer took lately. */
  fps: number;
  /** Mean JPEG size of the current segment so far (0 before the first frame). */
  bytesPerFrame: number;
}

export class SegmentPlanner {
  mode: StreamMode;
  pane: { width: number; height: number } | undefined;
  /** Bytes per second the transport achieved for this viewer (feeds adaptive mode). */
  throughput: number | undefined;
  /** The viewer's own report (frames drawn per second, load) and when it came; older than 3 s is ignored. */
  viewer: { fps: number; load?: number; at: number } | undefined;
  #adaptive: AdaptiveState | null = null;
  #lastCheck = 0;
  readonly #frameMs: number;

  constructor(
    readonly video: VideoInfo,
    readonly clock: Clock,
    mode: StreamMode,
    pane: { width: number; height: number } | undefined,
  ) {
    this.mode = mode;
    this.pane = pane;
    this.#frameMs = 1000 / video.fps;
  }

  /** Switches mode; adaptive mode starts afresh. */
  setMode(mode: StreamMode): void {
    this.mode = mode;
    this.#adaptive = null;
  }

  /** The segment to play from `pos` (ms), or null when there is nothing to play. */
  plan(pos: number): Segment | null {
    const v = this.video;
    if (v.renditions.length === 0) return null;
    const pane = this.pane ?? { width: v.width, height: v.height };
    let rendition: Rendition;
    let frames: number | undefined;
    if (this.mode === "thirds") {
      const plan = planThirds(Math.round(v.duration * v.fps), v.renditions);
      const idx = Math.round(pos / this.#frameMs);
      const seg = segmentForFrame(plan, idx);
      if (!seg) return null;
      rendition = seg.rendition;
      frames = Math.max(0, seg.endFrame - idx);
    } else if (this.mode === "adaptive") {
      this.#adaptive ??= initialAdaptive({
        now: this.clock.now(),
        paneHeight: pane.height,
        available: v.renditions,
        throughputBps: this.throughput,
        sourceFps: v.fps,
      });
      rendition = this.#adaptive.rendition;
    } else {
      rendition = v.renditions.includes(this.mode) ? this.mode : v.renditions.at(-1)!;
    }
    const size = targetSize(v.width, v.height, rendition, pane.width, pane.height);
    return { rendition, startMs: pos, frames, ...size };
  }

  /**
   * Adaptive check after each frame of `seg`; true when ffmpeg should restart with another choice.
   * `measureFrom` is when the current measurement began; `measure` is read only when a check runs.
   */
  wantsRestart(seg: Segment, playing: boolean, measureFrom: number, measure: () => Measured): boolean {
    if (this.mode !== "adaptive" || !this.#adaptive || !playing) return false;
    const now = this.clock.now();
    if (now - this.#lastCheck < 500 || now - measureFrom < 1000) return false;
    this.#lastCheck = now;
    const m = measure();
    const pane = this.pane ?? { width: this.video.width, height: this.video.height };
    const said = this.viewer && now - this.viewer.at <= VIEWER_REPORT_MS ? this.viewer : undefined;
    const next = adaptiveStep(this.#adaptive, {
      now,
      paneWidth: pane.width,
      paneHeight: pane.height,
      available: this.video.renditions,
      sourceFps: this.video.fps,
      // Frames taken but dropped while drawing are not delivered.
      deliveredFps: said ? Math.min(m.fps, said.fps) : m.fps,
      bytesPerFrame: m.bytesPerFrame,
      throughputBps: this.throughput,
      ...(said?.load !== undefined ? { viewerLoad: said.load } : {}),
    });
    this.#adaptive = next;
    return next.rendition !== seg.rendition;
  }
}

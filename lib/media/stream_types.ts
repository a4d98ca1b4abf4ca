/** Types of VideoStream (see stream.ts) and the abortable sleep it uses by default. */

import type { Clock } from "../common/clock.ts";
import type { FrameFormat, MjpegOptions, MjpegSource } from "./ffmpeg.ts";
import type { FirstFrames } from "./first_frames.ts";
import type { VideoInfo } from "./library.ts";
import type { Rendition } from "./thirds.ts";

/** "adaptive" (follows the viewer), "thirds" (240p, 720p, 1080p by thirds) or one fixed rendition. */
export type StreamMode = "adaptive" | "thirds" | Rendition;
/** Where a stream is: playing, paused, at its end, or stopped for good. */
export type StreamState = "playing" | "paused" | "ended" | "stopped";

/** One frame a stream hands to its viewer. */
export interface Frame {
  /** Presentation time, ms from the start of the video. */
  pts: number;
  /** The rendition the frame comes from. */
  rendition: Rendition;
  /** The frame: a JPEG, or with `format` "rgb" raw RGB24 rows (width × height × 3 bytes). */
  data: Uint8Array;
  /** How `data` is coded: "jpeg" or "rgb". */
  format: FrameFormat;
  /** Frame number at the source rate. */
  index: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** A stream's figures, from `VideoStream.stats()`. */
export interface StreamStats {
  /** Where the stream is. */
  state: StreamState;
  /** The mode asked for. */
  mode: StreamMode;
  /** The rendition being read; null before the first segment. */
  rendition: Rendition | null;
  /** Frame width in pixels. */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frames handed to the viewer. */
  delivered: number;
  /** Frames dropped because the viewer was behind. */
  dropped: number;
  /** Frames the viewer took per second, last ~2 s. */
  fps: number;
  /** Kilobits per second of JPEG the viewer took, last ~2 s. */
  kbps: number;
  /** Current position, ms. */
  position: number;
  /** The last ffmpeg failure, or null. */
  error: string | null;
}

/** What a `VideoStream` plays and how. */
export interface VideoStreamOptions {
  /** Path of the ffmpeg binary. */
  ffmpeg: string;
  /** The video to play (from the library). */
  video: VideoInfo;
  /** File of each rendition. */
  path: (r: Rendition) => string;
  /** Default "adaptive". */
  mode?: StreamMode;
  /** The viewer's pane in pixels; frames are scaled to fit (never above the rendition). */
  pane?: { width: number; height: number };
  /** ffmpeg -q:v (2 best … 31 worst). */
  quality?: number;
  /**
   * "rgb": segments whose frames are small (`SMALL_FRAME_PIXELS`, half-block sizes) come as raw
   * RGB24 instead of JPEG — about 15× the bytes, but no JPEG encode here and no decode in the
   * viewer (for a viewer on a fast link). Larger frames stay JPEG. Default "jpeg".
   */
  format?: FrameFormat;
  /** Start paused at 0 instead of playing. */
  paused?: boolean;
  /** Time source for pacing and rates (default: the system clock). */
  clock?: Clock;
  /** Sleeps `ms` or until the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Starts ffmpeg for one segment (default `spawnMjpeg`; tests pass a fake). */
  spawn?: (o: MjpegOptions) => MjpegSource;
  /**
   * Release frames up to this many ms before they are due (0: when due). They leave in bursts: once
   * the stream is `lead` ahead it sleeps until only half of it is left, so a viewer that paces frames
   * itself costs a few wake-ups a second instead of one or more per frame. The slot holds a lead's
   * worth of frames, so none is dropped unless the viewer falls that far behind.
   */
  lead?: number;
  /**
   * The first frame of a rendition at its own size (a JPEG), if known: a segment from the start of
   * the video with frames larger than half-block ones sends it at once as frame 0 and starts ffmpeg
   * at frame 1, so the first picture does not wait for ffmpeg to start (~0.1–0.2 s).
   */
  poster?: (r: Rendition) => Uint8Array | null | undefined;
  /**
   * The video's first frame as raw RGB24 at width×height (a new buffer each call), for a segment from
   * the start with half-block frames sent raw (`format` "rgb") and no kept frame 0: sent at once as
   * frame 0 while ffmpeg starts. A rejection or a wrong length sends none.
   */
  rawPoster?: (width: number, height: number) => Promise<Uint8Array | null | undefined>;
  /**
   * Frame 0 of each rendition at a frame size and format, kept from earlier plays (first_frames.ts):
   * a segment from the start finding its own sends it at once as frame 0 (half-block frames too) and
   * starts ffmpeg at frame 1; one that finds none keeps ffmpeg's frame 0 there for the next play.
   */
  firstFrames?: FirstFrames;
  /** Wait for the consumer instead of dropping (tests and exports). */
  lossless?: boolean;
  /** Aborting it stops the stream. */
  signal?: AbortSignal;
}

/** A setTimeout sleep that ends early (and clears its timer) when the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    signal.addEventListener("abort", done);
  });
}

/** Resolves when the signal aborts. */
export function abortedPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * VideoStream — one viewer's playback. Runs ffmpeg (through an injectable `spawn`) for the
 * rendition the mode picks, stamps each frame (a JPEG, or raw RGB for small frames when asked) with
 * its presentation time, paces it at the source
 * rate (Pacer + injected clock) and puts it in a latest-frame slot that the consumer pulls with
 * `nextFrame()`. A slow consumer gets fewer frames (drops are counted), never a queue, and never
 * slows anyone else. play/pause/seek/stop; modes "adaptive" (default), "thirds" or a fixed
 * rendition. Stopping (or the `signal` aborting) kills ffmpeg and waits for it. Which rendition
 * and frame size each ffmpeg segment gets is decided by `SegmentPlanner` (stream_plan.ts). A play
 * from the start sends a frame 0 it has without ffmpeg (one kept from an earlier play at this size:
 * first_frames.ts, or the rendition's poster) while ffmpeg starts; a playing stream's goes before
 * ffmpeg is started, whose start blocks the thread for milliseconds.
 */

import { type Clock, systemClock } from "../common/clock.ts";
import { sizeChanged } from "./adaptive.ts";
import { BufferPool } from "./buffer_pool.ts";
import { type FrameFormat, isSmallFrame, type MjpegSource, spawnMjpeg } from "./ffmpeg.ts";
import { fitsKey } from "./first_frames.ts";
import { isWholeJpeg, jpegSize } from "./jpeg_header.ts";
import { LatestSlot } from "./frame_slot.ts";
import { Pacer } from "./pacer.ts";
import { yieldToIo } from "../common/turn.ts";
import { readAhead } from "./read_ahead.ts";
import { type Segment, SegmentPlanner } from "./stream_plan.ts";
import {
  abortableSleep,
  abortedPromise,
  type Frame,
  type StreamMode,
  type StreamState,
  type StreamStats,
  type VideoStreamOptions,
} from "./stream_types.ts";

export type { Frame, StreamMode, StreamState, StreamStats, VideoStreamOptions } from "./stream_types.ts";
export { abortableSleep } from "./stream_types.ts";

const WINDOW_MS = 2000;

/** A segment's frame 0 sent before ffmpeg's; `learn`: ffmpeg still starts at frame 0, to keep it. */
type Poster = Pick<Frame, "data" | "width" | "height" | "format"> & { learn: boolean };

/** One viewer's playback: ffmpeg, pacing and a latest-frame slot (see the module comment). */
export class VideoStream {
  readonly #o: VideoStreamOptions;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #pacer: Pacer;
  readonly #slot: LatestSlot<Frame>;
  readonly #lead: number;
  readonly #frameMs: number;
  readonly #durationMs: number;
  readonly #plan: SegmentPlanner;
  #state: StreamState;
  #pos = 0;
  #seg: Segment | null = null;
  #segAbort: AbortController | null = null;
  #wake: AbortController = new AbortController();
  #taken: { t: number; bytes: number }[] = [];
  #measureFrom = 0;
  #preview = false;
  #bytesSum = 0;
  #bytesCount = 0;
  #error: string | null = null;
  readonly #done: Promise<void>;
  /** Raw frames' buffers, given back by the consumer (`recycle`) and filled again by ffmpeg's output. */
  readonly #pool = new BufferPool(4);

  /** Starts playing at once unless `opts.paused`; stop with `stop()` or `opts.signal`. */
  constructor(opts: VideoStreamOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#sleep = opts.sleep ?? abortableSleep;
    this.#plan = new SegmentPlanner(opts.video, this.#clock, opts.mode ?? "adaptive", opts.pane);
    this.#frameMs = 1000 / opts.video.fps;
    this.#lead = Math.max(0, opts.lead ?? 0);
    this.#slot = new LatestSlot<Frame>(1 + Math.ceil(this.#lead / this.#frameMs));
    this.#durationMs = opts.video.duration * 1000;
    this.#pacer = new Pacer(opts.video.fps, this.#clock, 0);
    this.#state = opts.paused ? "paused" : "playing";
    if (opts.paused) this.#pacer.pause();
    opts.signal?.addEventListener("abort", () => void this.stop(), { once: true });
    this.#done = this.#run();
  }

  /** Playing, paused, ended or stopped. */
  get state(): StreamState {
    return this.#state;
  }

  /** How far ahead of their time frames are released, ms (see `VideoStreamOptions.lead`). */
  get lead(): number {
    return this.#lead;
  }

  /** Resolves when the stream has stopped and its ffmpeg is gone. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The next frame (latest available); null when ended or stopped. */
  nextFrame(): Promise<Frame | null> {
    return this.#slot.take().then((f) => {
      if (f) this.#recordTaken(f);
      return f;
    });
  }

  /**
   * The consumer is done with a raw frame's bytes (it sent them on, and keeps no view of them): a
   * later raw frame of the same size is read into them instead of a new buffer.
   */
  recycle(data: Uint8Array): void {
    this.#pool.give(data);
  }

  /** Resumes a paused stream (no-op when stopped). */
  play(): void {
    if (this.#state === "stopped") return;
    if (this.#state === "ended") return this.seek(0);
    this.#state = "playing";
    this.#pacer.resume();
    this.#measureFrom = this.#clock.now();
    this.#kick();
  }

  /** Pauses a playing stream; frames stop until `play()`. */
  pause(): void {
    if (this.#state !== "playing") return;
    this.#state = "paused";
    this.#pacer.pause();
    this.#kick();
  }

  /** Jumps to `ms` (clamped to the video); a stale held frame is discarded. */
  seek(ms: number): void {
    if (this.#state === "stopped") return;
    const last = Math.max(0, this.#durationMs - this.#frameMs);
    this.#pos = Math.min(Math.max(0, ms), last);
    this.#pacer.seek(this.#pos);
    if (this.#state === "ended") {
      this.#state = "playing";
      this.#pacer.resume();
      this.#slot.reopen();
    }
    this.#slot.clear();
    this.#preview = this.#state === "paused"; // a paused viewer still sees the new position
    this.#restart();
  }

  /** Switches mode (adaptive, thirds or a fixed rendition) from the current position. */
  setMode(mode: StreamMode): void {
    if (mode === this.#plan.mode) return;
    this.#plan.setMode(mode);
    this.#restart();
  }

  /** The viewer's pane changed (pixels). Restarts ffmpeg only if the frame size really changes. */
  setPane(width: number, height: number): void {
    this.#plan.pane = { width, height };
    const seg = this.#seg;
    if (!seg) return;
    const want = this.#plan.plan(this.#pos);
    if (!want || want.rendition !== seg.rendition || sizeChanged(seg, want)) this.#restart();
  }

  /** Bytes per second the transport achieved for this viewer (feeds adaptive mode). */
  reportThroughput(bytesPerSecond: number): void {
    this.#plan.throughput = bytesPerSecond;
  }

  /**
   * What the viewer itself drew lately (frames per second) and how busy decoding and drawing kept
   * it (fraction of its time), when it reports them: a viewer that takes every frame but drops them
   * while drawing is then seen as falling short (feeds adaptive mode).
   */
  reportViewer(fps: number, load?: number): void {
    this.#plan.viewer = { fps, load, at: this.#clock.now() };
  }

  /** What the stream did lately: state, rendition, frame size, counts and rates. */
  stats(): StreamStats {
    const now = this.#clock.now();
    const from = Math.max(now - WINDOW_MS, this.#measureFrom);
    const recent = this.#taken.filter((x) => x.t >= from);
    const span = Math.max(1, now - from);
    const bytes = recent.reduce((a, x) => a + x.bytes, 0);
    return {
      state: this.#state,
      mode: this.#plan.mode,
      rendition: this.#seg?.rendition ?? null,
      width: this.#seg?.width ?? 0,
      height: this.#seg?.height ?? 0,
      delivered: this.#slot.delivered,
      dropped: this.#slot.dropped,
      fps: (recent.length * 1000) / span,
      kbps: (bytes * 8) / span,
      position: this.#pacer.position(),
      error: this.#error,
    };
  }

  /** Stops playback, kills ffmpeg and waits for it. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state !== "stopped") {
      this.#state = "stopped";
      this.#segAbort?.abort();
      this.#slot.close();
      this.#kick();
    }
    await this.#done;
  }

  #kick(): void {
    this.#wake.abort();
    this.#wake = new AbortController();
  }

  #restart(): void {
    this.#segAbort?.abort();
    this.#kick();
  }

  #recordTaken(f: Frame): void {
    const now = this.#clock.now();
    this.#taken.push({ t: now, bytes: f.data.length });
    while (this.#taken.length > 0 && now - this.#taken[0]!.t > WINDOW_MS) this.#taken.shift();
  }

  /** Adaptive check after each frame; true when ffmpeg should restart with another choice. */
  #adaptiveWantsRestart(seg: Segment): boolean {
    const bytesPerFrame = () => (this.#bytesCount > 0 ? this.#bytesSum / this.#bytesCount : 0);
    const measure = () => ({ fps: this.stats().fps, bytesPerFrame: bytesPerFrame() });
    return this.#plan.wantsRestart(seg, this.#state === "playing", this.#measureFrom, measure);
  }

  /**
   * Waits until `pts` may be released (due, or within the lead); false if the segment was aborted
   * meanwhile. With a lead, a wait lasts until only half the lead is left, so frames leave in bursts.
   */
  async #waitDue(pts: number, seg: AbortSignal): Promise<boolean> {
    for (;;) {
      if (seg.aborted) return false;
      const d = this.#pacer.delayFor(pts) - this.#lead;
      if (d <= 0) return true;
      if (this.#preview) {
        this.#preview = false;
        return true;
      }
      const wake = this.#wake.signal;
      await this.#sleep(d + this.#lead / 2, wake);
    }
  }

  async #run(): Promise<void> {
    await Promise.resolve(); // let the constructor finish
    while (this.#state !== "stopped") {
      if (this.#state === "ended") {
        await this.#sleep(Infinity, this.#wake.signal);
        continue;
      }
      const seg = this.#plan.plan(this.#pos);
      if (!seg || seg.frames === 0 || this.#pos >= this.#durationMs - this.#frameMs / 2) {
        this.#end();
        continue;
      }
      const ac = new AbortController();
      this.#segAbort = ac;
      this.#seg = seg;
      this.#measureFrom = this.#clock.now();
      this.#bytesSum = this.#bytesCount = 0;
      // Small frames come as raw RGB when it was asked for.
      const format = this.#o.format === "rgb" && isSmallFrame(seg.width, seg.height) ? "rgb" : "jpeg";
      const poster = await this.#posterFor(seg, format);
      if (ac.signal.aborted) continue; // stopped, sought or restarted meanwhile
      // A playing stream's poster goes out before ffmpeg starts: a process start blocks the thread
      // for milliseconds, and the first picture need not wait for it (issue 75). Paused: ffmpeg first.
      const early = poster !== null && this.#state === "playing";
      if (early && !(await this.#offerPoster(seg, poster, ac))) continue;
      let src: MjpegSource;
      try {
        // ffmpeg from frame 0 when its frame 0 is to be kept (`learn`), else after the poster.
        src = this.#spawnFor(seg, poster && !poster.learn ? 1 : 0, format, ac.signal);
      } catch (e) {
        this.#fail(e);
        continue;
      }
      const { count, interrupted } = await this.#playSegment(seg, src, poster, format, ac, early);
      const st = this.#state as StreamState; // may have changed while awaiting
      if (interrupted || st === "stopped" || st === "ended") continue;
      if (seg.frames !== undefined && count > 0) {
        this.#pos = seg.startMs + seg.frames * this.#frameMs; // next third
        continue;
      }
      this.#end();
    }
  }

  /** Starts ffmpeg for segment `seg`, `skip` frames in (the poster's), decoding to `format`. */
  #spawnFor(seg: Segment, skip: number, format: "rgb" | "jpeg", signal: AbortSignal): MjpegSource {
    return (this.#o.spawn ?? spawnMjpeg)({
      ffmpeg: this.#o.ffmpeg,
      input: this.#o.path(seg.rendition),
      startSec: (seg.startMs + skip * this.#frameMs) / 1000,
      fps: this.#o.video.fps,
      width: seg.width,
      height: seg.height,
      quality: this.#o.quality,
      maxFrames: seg.frames === undefined ? undefined : seg.frames - skip,
      format,
      pool: this.#pool,
      signal,
    });
  }

  /**
   * Offers segment `seg`'s poster to the slot when due, then lets its taker send it (a turn for the
   * I/O it made ready) before the caller starts ffmpeg; false when the segment was aborted meanwhile.
   */
  async #offerPoster(seg: Segment, poster: Poster, ac: AbortController): Promise<boolean> {
    if (!(await this.#waitDue(seg.startMs, ac.signal))) return false;
    const { data, width, height, format } = poster;
    this.#slot.offer({ pts: seg.startMs, rendition: seg.rendition, index: 0, data, width, height, format });
    this.#pos = seg.startMs + this.#frameMs;
    if (this.#o.lossless) await Promise.race([this.#slot.whenEmpty(), abortedPromise(ac.signal)]);
    await yieldToIo();
    return !ac.signal.aborted;
  }

  /**
   * Offers segment `seg`'s frames (its poster first, if any and not `posted` already, then `src`'s)
   * to the slot, each when due; ends `src` whatever happens. `count`: frames offered (the poster
   * included); `interrupted`: a seek, stop, failure or restart.
   */
  async #playSegment(
    seg: Segment,
    src: MjpegSource,
    poster: Poster | null,
    format: "rgb" | "jpeg",
    ac: AbortController,
    posted: boolean,
  ): Promise<{ count: number; interrupted: boolean }> {
    let count = poster ? 1 : 0;
    // ffmpeg's frame 0 of a segment from the start is kept for the next play at this size.
    let learn = poster?.learn ?? (seg.startMs === 0 && this.#o.firstFrames !== undefined);
    try {
      if (poster && !posted && !(await this.#offerPoster(seg, poster, ac))) throw ac.signal.reason;
      // ffmpeg runs ahead in bursts of about a second (see read_ahead.ts) rather than waking for
      // each frame the pacing below releases.
      for await (const data of readAhead(src)) {
        if (learn) {
          learn = false;
          this.#o.firstFrames?.set(
            { rendition: seg.rendition, width: seg.width, height: seg.height, format },
            data,
          );
          if (poster) continue; // the poster was frame 0
        }
        const pts = seg.startMs + count * this.#frameMs;
        // The first frame of a segment, or one far behind, re-anchors the clock (no burst).
        const late = -this.#pacer.delayFor(pts);
        if (late > 250 || (count === 0 && late > this.#frameMs)) this.#pacer.seek(pts);
        count++;
        if (!(await this.#waitDue(pts, ac.signal))) return { count, interrupted: true };
        this.#bytesSum += data.length;
        this.#bytesCount++;
        const index = Math.round(pts / this.#frameMs);
        this.#slot.offer({
          pts,
          rendition: seg.rendition,
          data,
          format,
          index,
          width: seg.width,
          height: seg.height,
        });
        this.#pos = pts + this.#frameMs;
        if (this.#o.lossless) await Promise.race([this.#slot.whenEmpty(), abortedPromise(ac.signal)]);
        if (ac.signal.aborted || this.#adaptiveWantsRestart(seg)) return { count, interrupted: true };
      }
      // A restart or stop before ffmpeg's first frame ends its output early: interrupted, not the end.
      return { count, interrupted: ac.signal.aborted };
    } catch (e) {
      if (!ac.signal.aborted) this.#fail(e);
      return { count, interrupted: true };
    } finally {
      ac.abort();
      await src.stop();
    }
  }

  /**
   * The frame to send as the segment's first, if any: frame 0 at the segment's size and format kept
   * from an earlier play (`VideoStreamOptions.firstFrames`), else the poster — raw half-block frames
   * made from it at their size (`rawPoster`), larger frames the rendition's JPEG (`poster`) —, with
   * `learn` when ffmpeg's frame 0 is still to be kept.
   */
  async #posterFor(seg: Segment, format: FrameFormat): Promise<Poster | null> {
    if (seg.startMs !== 0 || (seg.frames !== undefined && seg.frames < 2)) return null;
    const { width, height } = seg;
    const key = { rendition: seg.rendition, width, height, format };
    const kept = this.#o.firstFrames?.get(key);
    if (kept && fitsKey(key, kept)) return { data: kept, width, height, format, learn: false };
    const learn = this.#o.firstFrames !== undefined;
    if (isSmallFrame(width, height)) {
      if (format !== "rgb" || !this.#o.rawPoster) return null; // JPEG half-block frames: none
      const data = await this.#o.rawPoster(width, height).catch(() => null);
      return data && data.length === width * height * 3 ? { data, width, height, format, learn } : null;
    }
    if (!this.#o.poster) return null;
    const jpeg = this.#o.poster(seg.rendition);
    const size = jpeg && isWholeJpeg(jpeg) ? jpegSize(jpeg) : null;
    if (!jpeg || !size) return null;
    return { data: jpeg, ...size, format: "jpeg", learn };
  }

  #end(): void {
    if (this.#state === "stopped") return;
    this.#state = "ended";
    this.#slot.close();
  }

  #fail(e: unknown): void {
    this.#error = e instanceof Error ? e.message : String(e);
    this.#end();
  }
}

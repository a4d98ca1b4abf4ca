/**
 * VideoService — the server's video library and playback. At `start()` it scans the videos folder
 * in the background (renditions made by ffmpeg when missing, never upscaled, cached under the data
 * folder and reused). `play` starts a `Viewer` for a session (limits per session and per server),
 * `ctl` pauses, resumes, seeks, stops or resizes it, and `closeSession` ends every stream of a
 * session that went away, killing its ffmpeg. Without ffmpeg every operation fails with
 * `unavailable` and one clear sentence; nothing else in the server depends on this.
 */
import { type Clock, systemClock } from "../../common/clock.ts";
import type { Logger } from "../../common/logger.ts";
import {
  decodeJpeg,
  FfmpegMissingError,
  FirstFrameCache,
  isWholeJpeg,
  type MjpegOptions,
  type MjpegSource,
  packedRgb,
  type Rendition,
  spawnMjpeg,
  type StreamMode,
  TranscodeCache,
  type VideoInfo,
  VideoLibrary,
  VideoStream,
} from "../../media/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { Request } from "../../protocol/messages.ts";
import { type EndReason, Viewer, type ViewerEnd, type ViewerSink } from "./viewer.ts";

/** An expected failure of a video request: a stable code and one sentence. */
export class VideoError extends Error {
  override name = "VideoError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface VideoServiceOptions {
  videosDir: string;
  dataDir: string;
  /** From `findFfmpeg`; null disables video. */
  ffmpeg: string | null;
  log: Logger;
  maxStreams: number;
  maxStreamsPerSession: number;
  clock?: Clock;
  /** The streams' paced waits (VideoStream's `sleep`; default: timers on the wall clock). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** How long `play`/`list` wait for a scan in progress before answering. */
  scanWaitMs?: number;
  /** JPEG quality for ffmpeg (2 best … 31 worst). */
  quality?: number;
  /** The frames of earlier plays kept for the next at their size (default: a cache of TRANSCODE_CACHE_BYTES). */
  transcodes?: TranscodeCache;
  /** Bytes the default cache keeps (`--video-cache`; default TRANSCODE_CACHE_BYTES, 0: none). */
  cacheBytes?: number;
}

export const NO_FFMPEG_MESSAGE = new FfmpegMissingError().message;

export class VideoService {
  readonly #o: VideoServiceOptions;
  readonly #clock: Clock;
  readonly #lib: VideoLibrary;
  readonly #abort = new AbortController();
  readonly #viewers = new Map<ViewerSink, Map<number, Viewer>>();
  readonly #pids = new Set<number>();
  /** Frame 0 of the plays from the start, by rendition and frame size (forgotten when a scan ends). */
  readonly #firstFrames = new FirstFrameCache();
  /** Whole runs of ffmpeg at a frame size, replayed by the next play at that size (forgotten when a scan ends). */
  readonly #transcodes: TranscodeCache;
  #scan: Promise<void> | null = null;
  #scanned = false;
  #nextId = 1;
  #count = 0;
  #closed = false;

  constructor(o: VideoServiceOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#transcodes = o.transcodes ?? new TranscodeCache(o.cacheBytes);
    this.#lib = new VideoLibrary({
      videosDir: o.videosDir,
      dataDir: o.dataDir,
      ffmpeg: o.ffmpeg,
      signal: this.#abort.signal,
      onLog: (m) => o.log.info("video.scan", { msg: m }),
    });
  }

  get available(): boolean {
    return this.#o.ffmpeg !== null;
  }

  /** Streams playing now (all sessions). */
  get streams(): number {
    return this.#count;
  }

  /** Process ids of the ffmpeg streams running now (for tests and the console). */
  ffmpegPids(): number[] {
    return [...this.#pids];
  }

  /** Every playing stream: frames sent and dropped so far, its session's queued bytes, its frame size. */
  viewerStats(): {
    stream: number;
    sent: number;
    dropped: number;
    queued: number;
    rendition: string | null;
    /** The size of the frames it sends now (0 before its first segment). */
    width: number;
    height: number;
  }[] {
    const out = [];
    for (const [sink, map] of this.#viewers) {
      for (const v of map.values()) {
        const st = v.stream.stats();
        out.push({
          stream: v.id,
          sent: v.sent,
          dropped: st.dropped,
          queued: sink.outbox.bytes,
          rendition: st.rendition,
          width: st.width,
          height: st.height,
        });
      }
    }
    return out;
  }

  /** Starts the background scan (no-op without ffmpeg). */
  start(): void {
    if (this.available) this.rescan();
  }

  /** Scans again (shared with a scan in progress); resolves when done, never rejects. */
  rescan(): Promise<void> {
    if (!this.available || this.#closed) return Promise.resolve();
    this.#scan ??= this.#lib.scan().then((list) => {
      this.#scanned = true;
      this.#firstFrames.clear(); // renditions may have been made again
      this.#transcodes.clear();
      this.#o.log.info("video.ready", { videos: list.length });
    }, (e) => {
      if (!this.#abort.signal.aborted) this.#o.log.warn("video.scan_failed", { error: String(e) });
    }).finally(() => (this.#scan = null));
    return this.#scan;
  }

  #require(): void {
    if (!this.available) throw new VideoError(ErrorCode.Unavailable, NO_FFMPEG_MESSAGE);
    if (this.#closed) throw new VideoError(ErrorCode.Shutdown, "The server is shutting down");
  }

  async #waitScan(): Promise<void> {
    if (this.#scanned || !this.#scan) return;
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#scan,
      new Promise((r) => (t = setTimeout(r, this.#o.scanWaitMs ?? 10_000))),
    ]);
    clearTimeout(t);
  }

  async list(): Promise<{ videos: VideoInfo[]; available: boolean; preparing: boolean }> {
    this.#require();
    await this.#waitScan();
    return { videos: this.#lib.list(), available: true, preparing: this.#scan !== null };
  }

  async play(s: ViewerSink, m: Request<"video.play">): Promise<Viewer> {
    this.#require();
    await this.#waitScan();
    const video = this.#lib.get(m.name);
    if (!video) {
      const why = this.#scan && !this.#scanned
        ? "The video library is still being prepared; try again in a moment"
        : `There is no video named ${m.name}`;
      throw new VideoError(this.#scan && !this.#scanned ? ErrorCode.Unavailable : "no_such_video", why);
    }
    if (video.renditions.length === 0) {
      throw new VideoError(ErrorCode.Unavailable, `No rendition of ${m.name} could be made`);
    }
    // From the start: each rendition's first frame goes out while ffmpeg starts (see `poster`).
    const posters = m.start ? null : await this.#lib.posters(video.name);
    const mine = this.#viewers.get(s);
    if ((mine?.size ?? 0) >= this.#o.maxStreamsPerSession) {
      throw new VideoError(
        ErrorCode.RateLimited,
        `You can play at most ${this.#o.maxStreamsPerSession} videos at once; stop one first`,
      );
    }
    if (this.#count >= this.#o.maxStreams) {
      throw new VideoError(
        ErrorCode.Unavailable,
        "The server is playing as many videos as it can; try later",
      );
    }
    const id = this.#nextId++;
    const stream = new VideoStream({
      ffmpeg: this.#lib.ffmpeg,
      video,
      path: (r) => this.#lib.renditionPath(video.name, r),
      mode: (m.mode ?? "adaptive") as StreamMode,
      pane: m.width && m.height ? { width: m.width, height: m.height } : undefined,
      quality: this.#o.quality,
      lead: m.lead ?? 0,
      format: m.format ?? "jpeg",
      poster: (r) => posters?.get(r),
      firstFrames: this.#firstFrames.of(video.name),
      rawPoster: (width, height) => smallPoster(posters, video.renditions, width, height),
      clock: this.#clock,
      ...(this.#o.sleep ? { sleep: this.#o.sleep } : {}),
      spawn: (o) => this.#transcodes.source(o, (x) => this.#spawn(x)),
    });
    if (m.start) stream.seek(m.start);
    const v = new Viewer(id, video, stream, s, this.#clock);
    const map = mine ?? new Map<number, Viewer>();
    map.set(id, v);
    this.#viewers.set(s, map);
    this.#count++;
    v.done.then((end) => this.#ended(s, v, end));
    return v;
  }

  #spawn(o: MjpegOptions): MjpegSource {
    const src = spawnMjpeg(o);
    this.#pids.add(src.pid);
    const stop = src.stop;
    let gone: Promise<void> | null = null;
    // Forget the pid only once the process has been awaited.
    const wrapped: MjpegSource = {
      pid: src.pid,
      stop: () => gone ??= stop().finally(() => this.#pids.delete(src.pid)),
      [Symbol.asyncIterator]: () => src[Symbol.asyncIterator](),
    };
    return wrapped;
  }

  #ended(s: ViewerSink, v: Viewer, end: ViewerEnd): void {
    const map = this.#viewers.get(s);
    if (map?.delete(v.id)) this.#count--;
    if (map && map.size === 0) this.#viewers.delete(s);
    this.#o.log.info("video.end", {
      stream: v.id,
      reason: end.reason,
      sent: end.sent,
      dropped: end.dropped,
      error: end.error ?? undefined,
    });
  }

  /** pause | resume | seek | stop | pane | report on one of the session's streams. */
  async ctl(s: ViewerSink, m: Request<"video.ctl">): Promise<Record<string, unknown>> {
    this.#require();
    const v = this.#viewers.get(s)?.get(m.stream);
    if (!v) throw new VideoError("no_such_stream", `There is no stream ${m.stream} playing for you`);
    const st = v.stream;
    switch (m.op) {
      case "pause":
        st.pause();
        break;
      case "resume":
        st.play();
        break;
      case "seek":
        if (m.pts === undefined) throw new VideoError(ErrorCode.Invalid, "Seek needs a position (pts, ms)");
        st.seek(m.pts);
        break;
      case "pane":
        if (!m.width || !m.height) throw new VideoError(ErrorCode.Invalid, "Pane needs width and height");
        st.setPane(m.width, m.height);
        break;
      case "report":
        if (m.fps === undefined) {
          throw new VideoError(ErrorCode.Invalid, "A report needs fps (frames drawn per second)");
        }
        st.reportViewer(m.fps, m.load);
        return {}; // sent every second or so: nothing to say back
      case "stop":
        return { ...(await v.stop("stopped")) };
    }
    const x = st.stats();
    return { state: x.state, position: Math.round(x.position), rendition: x.rendition };
  }

  /** Ends every stream of a session (it closed); resolves when their ffmpeg are gone. */
  async closeSession(s: ViewerSink, reason: EndReason = "closed"): Promise<void> {
    const map = this.#viewers.get(s);
    if (!map) return;
    await Promise.all([...map.values()].map((v) => v.stop(reason)));
  }

  /** Stops the scan and every stream; resolves when no ffmpeg of ours is left. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await Promise.all([...this.#viewers.keys()].map((s) => this.closeSession(s, "shutdown")));
    await this.#scan;
  }
}

/**
 * A raw half-block frame 0 while ffmpeg starts: the smallest rendition's poster (the same first
 * frame; half-block frames are smaller than any rendition) decoded and area-scaled to width×height.
 */
async function smallPoster(
  posters: Map<Rendition, Uint8Array> | null,
  renditions: Rendition[],
  width: number,
  height: number,
): Promise<Uint8Array | null> {
  const jpeg = renditions.map((r) => posters?.get(r)).find((p) => p !== undefined && isWholeJpeg(p));
  return jpeg ? packedRgb(await decodeJpeg(jpeg), width, height) : null;
}

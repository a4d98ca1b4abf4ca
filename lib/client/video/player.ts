/**
 * VideoPlayer — draws a `FrameSource` (a server playback or a user-to-user stream) into a pane
 * rectangle of the terminal. It is the API the full-screen client and the scripted `play` share:
 * the caller gives the pane (cells, 1-based position, cell size in pixels), the renderer kind and a
 * `draw` callback that receives bytes already positioned inside the pane; the player decodes the
 * next frame on a worker while it paints this one (newest first: frames that arrive meanwhile are
 * skipped, never queued),
 * and, unless `overlay: false`, writes one status line (position, fps, dropped, rendition, kbit/s)
 * on the pane's last row. pause/resume/toggle/seek/stop/resize forward to the source.
 * A source with a `lead` sends frames early: the player then shows each at its presentation time
 * (anchored on the first frame, again after a pause, a seek, a jump in the frames' times or a
 * backlog beyond the lead) and holds the picture while paused; other sources are drawn as frames
 * arrive (the clock of paced frames: due_clock.ts).
 */
import { type Clock, systemClock } from "../../common/clock.ts";
import { abortableSleep } from "../../media/stream.ts";
import { decodeJpeg, type RgbaImage } from "../../media/jpeg.ts";
import { formatOverlay, PlaybackMeter } from "../../media/overlay.ts";
import type { FrameDecoder } from "../../media/ffmpeg_decoder.ts";
import { FramePainter, type PaneGeometry, panePixels } from "../../media/player.ts";
import type { GraphicsKind } from "../../media/term_detect.ts";
import { JpegDecoder } from "../../media/decoder.ts";
import { kittyDelete } from "../../media/render_kitty.ts";
import type { TempFilePort } from "../../media/kitty_file.ts";
import type { FrameSource, VideoFrame } from "./video_client.ts";
import { DueClock } from "./due_clock.ts";
import { SeekTarget } from "./seek_target.ts";

/** How often the player reports to its source. */
const REPORT_MS = 1000;

export interface PlayerOptions {
  kind: GraphicsKind;
  pane: PaneGeometry;
  /** Receives escape sequences to write to the terminal as they are. */
  draw: (out: string | Uint8Array) => void;
  /** Reserve the pane's last row for the status line (default true). */
  overlay?: boolean;
  /** Called after each drawn frame with the status line (for a UI that draws it elsewhere). */
  onStatus?: (line: string) => void;
  /** Extra text for the status line (e.g. the mode). */
  label?: string;
  clock?: Clock;
  /** Decodes frames (default: in-thread for half-blocks, else a worker of this player's own). */
  decoder?: FrameDecoder;
  /** Sleeps `ms` or until the signal aborts (waiting for a frame's time; tests inject one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Kitty: the pixels go through these temporary files (the terminal said it reads them; video/terminal.ts). */
  kittyFile?: TempFilePort;
  /**
   * The painter, made before the source was known (`VideoPlayer.painterFor`: its set-up overlaps
   * the play's request); the player owns it from then on. Default: one made here.
   */
  painter?: FramePainter;
}

/**
 * The lead a player asks of a server playback: frames come up to half a second early, in bursts of
 * about a quarter second, so neither side wakes for every frame and a late packet does not stall
 * the picture; a pause, seek or rendition change reaches the screen at most this much later.
 */
export const PLAY_LEAD_MS = 500;

export interface PlayerSummary {
  shown: number;
  dropped: number;
  lastRendition: string;
}

export class VideoPlayer {
  readonly done: Promise<PlayerSummary>;
  readonly #src: FrameSource;
  readonly #o: PlayerOptions;
  readonly #painter: FramePainter;
  readonly #meter: PlaybackMeter;
  readonly #decoder: FrameDecoder | null;
  #pane: PaneGeometry;
  #paused = false;
  #skipped = 0;
  #rendition = "";
  #lastPts = 0;
  #stopping = false;
  /** Milliseconds spent decoding and drawing since `#reportedAt` (for the source's `report`). */
  #busyMs = 0;
  #drawn = 0;
  /** When the report window began (-1: at the next drawn frame). */
  #reportedAt = -1;
  /** Time for the busy measure: the injected clock, else the high-resolution one. */
  readonly #now: () => number;
  /** Paced sources: when each frame is due (due_clock.ts); kicked by pause, resume, seek and stop. */
  readonly #due: DueClock;
  /** A seek asked for and not yet on screen (seek_target.ts). */
  readonly #seek: SeekTarget;

  constructor(source: FrameSource, o: PlayerOptions) {
    this.#src = source;
    this.#o = o;
    this.#pane = o.pane;
    this.#painter = o.painter ?? VideoPlayer.painterFor(o.kind, o.kittyFile, false);
    this.#meter = new PlaybackMeter(o.clock ?? systemClock, 2000);
    this.#now = o.clock ? () => o.clock!.now() : () => performance.now();
    this.#seek = new SeekTarget(this.#now);
    this.#due = new DueClock(
      {
        lead: () => this.#src.lead ?? 0,
        backlog: () => this.#src.backlog ?? 0,
        paused: () => this.#paused,
        stopping: () => this.#stopping,
      },
      this.#now,
      o.sleep ?? abortableSleep,
    );
    // Without a decoder given, the WASM one (its module starts now, before the first frame).
    this.#decoder = o.decoder ?? VideoPlayer.wasmDecoder(o.kind) ?? null;
    if (!o.decoder) void this.#decoder?.warm();
    this.done = this.#loop().finally(() => {
      this.#painter.close(); // no temporary file left behind
      if (!o.decoder) this.#decoder?.close();
    });
  }

  /**
   * The decoder for frames drawn with `kind` when there is no ffmpeg: none for half-blocks (their
   * small frames decode in-thread), a WASM worker for kitty and sixel (and an unknown kind).
   */
  static wasmDecoder(kind: GraphicsKind | undefined): JpegDecoder | undefined {
    return kind === "halfblock" ? undefined : new JpegDecoder();
  }

  /**
   * The painter of a player drawing with `kind` (kitty: through `kittyFile` when given). A caller
   * makes it while the first frame is on its way (issue 75: a sixel encoder's tables take
   * milliseconds to build) and hands it over as `PlayerOptions.painter`; it is closed by the player.
   * `early` (default true): made ahead of the first frame, so a sixel encoder warms up (compiles its
   * loops on a small picture) now rather than on that frame; the player's own fallback passes false.
   */
  static painterFor(kind: GraphicsKind, kittyFile?: TempFilePort, early = true): FramePainter {
    return new FramePainter(kind, { ...(kittyFile ? { kittyFile } : {}), sixelWarm: early });
  }

  /**
   * The painter for the terminal `detected` finds, made as soon as it is known while `wait` (e.g. a
   * stream's offer) is pending, so a sixel encoder warms up then and not between the offer and its
   * accept (issue 75); with `wait`'s value. When `wait` fails the painter is closed and the failure given.
   */
  static async painterWhile<T>(
    detected: Promise<{ kind: GraphicsKind; kittyFile?: TempFilePort }>,
    wait: Promise<T>,
  ): Promise<{ value: T; painter: FramePainter }> {
    const made = detected.then((d) => VideoPlayer.painterFor(d.kind, d.kittyFile));
    made.catch(() => {}); // a failed detection: said by its own awaiter
    try {
      return { value: await wait, painter: await made };
    } catch (e) {
      void made.then((p) => p.close(), () => {});
      throw e;
    }
  }

  /** The pane size in pixels worth asking the server for (image area only). */
  static pixelsFor(
    kind: GraphicsKind,
    pane: PaneGeometry,
    overlay = true,
  ): { width: number; height: number } {
    return panePixels(kind, { ...pane, rows: Math.max(1, pane.rows - (overlay ? 1 : 0)) });
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Position of the last drawn frame, ms. */
  get position(): number {
    return this.#lastPts;
  }

  async pause(): Promise<void> {
    this.#paused = true;
    this.#reportedAt = -1;
    this.#due.kick();
    await this.#src.pause?.();
    this.#status();
  }

  async resume(): Promise<void> {
    this.#paused = false;
    this.#reportedAt = -1;
    this.#due.kick();
    await this.#src.resume?.();
  }

  togglePause(): Promise<void> {
    return this.#paused ? this.resume() : this.pause();
  }

  /** Seeks from where the video is heading (a seek not on screen yet), else its last frame (arrows: ±5000). */
  seekBy(deltaMs: number): Promise<void> {
    return this.seekTo(this.#seek.position(this.#lastPts) + deltaMs);
  }

  async seekTo(ms: number): Promise<void> {
    if (!this.#src.seek) return;
    const to = this.#seek.set(ms, this.#src.duration);
    this.#due.kick();
    this.#status(); // the new position at once, before its frames come
    await this.#src.seek(to);
  }

  /** The pane moved or changed size: later frames are drawn there, the server rescales. */
  async resize(pane: PaneGeometry): Promise<void> {
    this.#pane = pane;
    const px = VideoPlayer.pixelsFor(this.#o.kind, pane, this.#o.overlay !== false);
    await this.#src.setPane?.(px.width, px.height);
  }

  /** The screen was repainted under the picture: the next frame is drawn whole. */
  invalidate(): void {
    this.#painter.reset();
  }

  /** Stops the source; resolves with the summary once the loop ended. */
  async stop(): Promise<PlayerSummary> {
    this.#stopping = true;
    this.#due.kick();
    await this.#src.stop();
    return await this.done;
  }

  #imagePane(): PaneGeometry {
    const p = this.#pane;
    return this.#o.overlay === false ? p : { ...p, rows: Math.max(1, p.rows - 1) };
  }

  /** The next frame and its picture (null: undecodable); null at the end. */
  async #nextPicture(): Promise<{ f: VideoFrame; img: RgbaImage | null } | null> {
    const f = await this.#src.next();
    if (!f || this.#stopping) return null;
    if (f.format === "rgb") return { f, img: rawPicture(f) }; // nothing to decode
    const t0 = this.#now();
    try {
      return { f, img: await (this.#decoder ? this.#decoder.decode(f.data) : decodeJpeg(f.data)) };
    } catch {
      return { f, img: null };
    } finally {
      this.#busyMs += this.#now() - t0;
    }
  }

  async #loop(): Promise<PlayerSummary> {
    // The next frame is taken and decoded (on the decoder's worker) while this one is painted.
    let next = this.#nextPicture();
    for (;;) {
      const got = await next;
      if (!got || this.#stopping) break;
      next = this.#nextPicture();
      const { f, img } = got;
      if (!img) {
        this.#skipped++; // an undecodable frame: skip it
        this.#src.release?.(f);
        continue;
      }
      if (!(await this.#due.untilDue(f.pts))) {
        this.#src.release?.(f);
        break;
      }
      // Painting and drawing in one synchronous step: an `invalidate()` cannot fall between them.
      const t0 = this.#now();
      const out = this.#painter.paintImage(img, this.#imagePane());
      this.#busyMs += this.#now() - t0;
      this.#src.release?.(f); // painted: nothing keeps a view of its pixels
      this.#meter.frame(f.bytes ?? f.data.length); // what came over the wire (the overlay's kbit/s)
      this.#rendition = f.shownAs ?? f.rendition;
      this.#lastPts = f.pts;
      this.#seek.drawn(f.pts);
      this.#status(out); // the picture and its status line in one write ("": the same picture)
      this.#report();
    }
    if (this.#o.kind === "kitty") this.#o.draw(kittyDelete(4242));
    return { shown: this.#meter.shown, dropped: this.#dropped(), lastRendition: this.#rendition };
  }

  /** About once a second: frames drawn per second and how busy decoding and drawing kept the player. */
  #report(): void {
    if (!this.#src.report) return;
    const now = this.#now();
    if (this.#reportedAt < 0) return this.#restartReport(now);
    this.#drawn++;
    const span = now - this.#reportedAt;
    if (span < REPORT_MS) return;
    this.#src.report((this.#drawn * 1000) / span, this.#busyMs / span);
    this.#restartReport(now);
  }

  /** A new report window from `now` (also after a pause: paused time is not a shortfall). */
  #restartReport(now: number): void {
    this.#reportedAt = now;
    this.#busyMs = 0;
    this.#drawn = 0;
  }

  #dropped(): number {
    return this.#src.dropped + this.#skipped;
  }

  /** Draws the status line (unless `overlay: false`), after `picture` when given: one write. */
  #status(picture: string | Uint8Array = ""): void {
    const line = formatOverlay({
      fps: this.#meter.fps(),
      dropped: this.#dropped(),
      rendition: this.#rendition || "…",
      kbps: this.#meter.kbps(),
      paused: this.#paused,
      at: this.#seek.position(this.#lastPts),
      ...(this.#src.duration ? { length: this.#src.duration } : {}),
      ...(this.#o.label ? { mode: this.#o.label } : {}),
      renderer: this.#o.kind,
    }, this.#pane.cols);
    this.#o.onStatus?.(line);
    if (this.#o.overlay === false) {
      if (picture.length) this.#o.draw(picture);
      return;
    }
    const p = this.#pane;
    const status = `\x1b[${p.row + p.rows - 1};${p.col}H\x1b[0m${line}\x1b[K`;
    this.#o.draw(picture.length ? joined(picture, status) : status);
  }
}

/** A raw RGB24 frame as a picture; null (skipped like an undecodable one) when its size is wrong. */
export function rawPicture(f: VideoFrame): RgbaImage | null {
  const { width: w, height: h, data } = f;
  const ok = Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0 && data.length === w * h * 3;
  return ok ? { width: w, height: h, data, channels: 3 } : null;
}

const enc = new TextEncoder();

/** A picture and the status line after it as one piece to write. */
function joined(picture: string | Uint8Array, status: string): string | Uint8Array {
  if (typeof picture === "string") return picture + status;
  const out = new Uint8Array(picture.length + status.length * 3); // (UTF-8: at most 3 bytes a UTF-16 unit)
  out.set(picture);
  const { written } = enc.encodeInto(status, out.subarray(picture.length));
  return out.subarray(0, picture.length + written);
}

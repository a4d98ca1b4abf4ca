/**
 * Viewer — one `video.play` of one session. Owns a `VideoStream` (ffmpeg, pacing, latest-frame
 * slot) and a sender loop that takes the newest frame only when the session's outbox is nearly
 * empty, then pushes it as a `video.frame` with the frame (JPEG, or raw RGB — as a delta against the
 * last raw frame this client got when that is smaller) as raw body. A client that reads slowly
 * therefore gets fewer frames (the slot counts the drops), never a growing queue, and never slows
 * other sessions. The loop also measures the throughput the connection achieves while it is the
 * bottleneck (bytes drained over the time spent waiting for them) and feeds it to
 * the stream's adaptive mode. When the stream ends or is stopped, ffmpeg is killed and awaited and
 * a `video.end` carries the reason and the counts.
 */
import type { Clock } from "../../common/clock.ts";
import {
  encodeRgbDelta,
  type Frame,
  type Rendition,
  type StreamStats,
  type VideoInfo,
  type VideoStream,
} from "../../media/mod.ts";
import type { Outbound } from "../../protocol/messages.ts";

/**
 * What a viewer needs from a session: send frames and look at its outbox. `send` has copied `body`
 * when it returns (a session's outbox does): the viewer reuses the buffers of the frames it sent.
 */
export interface ViewerSink {
  /** Queues a frame; `body` is copied before it returns (the Viewer reuses its buffers). */
  send(h: Outbound, body?: Uint8Array): boolean;
  readonly outbox: { readonly bytes: number; readonly closed: boolean; drained(): Promise<void> };
}

/** Push the next frame only when fewer bytes than this are still waiting to be written. */
export const LOW_WATER = 64 * 1024;
/** A raw frame goes whole at least this often (frames), so a viewer never builds on a bad base for long. */
export const WHOLE_EVERY = 48;
const TPUT_WINDOW_MS = 1000;

export type EndReason = "end" | "stopped" | "closed" | "error" | "shutdown";

export interface ViewerEnd {
  reason: EndReason;
  sent: number;
  dropped: number;
  byRendition: Record<Rendition, number>;
  error: string | null;
}

export class Viewer {
  readonly done: Promise<ViewerEnd>;
  readonly #sink: ViewerSink;
  readonly #clock: Clock;
  #reason: EndReason | null = null;
  #sent = 0;
  #skipped = 0;
  readonly #by: Record<Rendition, number> = { "240p": 0, "720p": 0, "1080p": 0 };
  #winStart: number;
  #winBytes = 0;
  /** Time spent waiting for the outbox to drain in this window, and the bytes drained meanwhile. */
  #winWaitMs = 0;
  #winDrained = 0;
  /** The last raw frame this client got (deltas are made against it), and deltas sent since a whole one. */
  #lastRgb: Frame | null = null;
  #deltas = 0;
  #wakeStop: () => void = () => {};
  readonly #stopped = new Promise<void>((r) => (this.#wakeStop = r));
  #begin: () => void = () => {};
  readonly #begun = new Promise<void>((r) => (this.#begin = r));

  constructor(
    readonly id: number,
    readonly video: VideoInfo,
    readonly stream: VideoStream,
    sink: ViewerSink,
    clock: Clock,
  ) {
    this.#sink = sink;
    this.#clock = clock;
    this.#winStart = clock.now();
    this.done = this.#pump();
  }

  /** Lets frames flow (call after the `video.play` reply was queued, so it comes first). */
  begin(): void {
    this.#begin();
  }

  /** Frames pushed to the client so far. */
  get sent(): number {
    return this.#sent;
  }

  stats(): StreamStats & { sent: number } {
    return { ...this.stream.stats(), sent: this.#sent };
  }

  /** Ends playback (idempotent); resolves when ffmpeg is gone and `video.end` was queued. */
  async stop(reason: EndReason = "stopped"): Promise<ViewerEnd> {
    this.#reason ??= reason;
    this.#wakeStop();
    this.#begin();
    await this.stream.stop();
    return await this.done;
  }

  async #waitRoom(): Promise<void> {
    const ob = this.#sink.outbox;
    if (ob.bytes <= LOW_WATER || ob.closed || this.#reason !== null) return;
    const t0 = this.#clock.now(), b0 = ob.bytes;
    while (ob.bytes > LOW_WATER && !ob.closed && this.#reason === null) {
      await Promise.race([ob.drained(), this.#stopped]);
    }
    this.#winWaitMs += this.#clock.now() - t0;
    this.#winDrained += Math.max(0, b0 - ob.bytes);
  }

  #measure(bytes: number): void {
    this.#winBytes += bytes;
    const now = this.#clock.now();
    const span = now - this.#winStart;
    if (span < TPUT_WINDOW_MS) return;
    const rate = (this.#winBytes * 1000) / span;
    // While this viewer waited for its outbox to drain, the link was the bottleneck: what drained
    // over that time is its throughput. (Bytes per window would not do: a stream with a lead sends
    // in bursts, so a window holds 18 or 30 frames' worth of a link that keeps up with ease.) No wait
    // that took time: the link kept up with room to spare.
    const link = this.#winWaitMs > 0 ? (this.#winDrained * 1000) / this.#winWaitMs : null;
    this.stream.reportThroughput(link ?? rate * 2 + 1_000_000);
    this.#winStart = now;
    this.#winBytes = 0;
    this.#winWaitMs = 0;
    this.#winDrained = 0;
  }

  /**
   * A raw frame as a delta against the last raw frame this client got (same size), when that is
   * smaller and a whole frame went out within `WHOLE_EVERY`; null: send it whole.
   */
  #delta(f: Frame): Uint8Array | null {
    const last = this.#lastRgb;
    if (f.format !== "rgb" || !last || last.width !== f.width || last.height !== f.height) return null;
    // (a view of the encoder's own buffer, as good as the next call: `send` copies it)
    return this.#deltas + 1 < WHOLE_EVERY ? encodeRgbDelta(last.data, f.data, undefined, false) : null;
  }

  /**
   * Raw frame `f` was sent (`sent`) or not: a sent one is the base of the next delta and the one it
   * replaces goes back to the stream's buffers, an unsent one goes back itself.
   */
  #keep(f: Frame, sent: boolean, delta: boolean): void {
    if (f.format !== "rgb") return;
    if (!sent) return this.stream.recycle(f.data);
    const prev = this.#lastRgb;
    [this.#lastRgb, this.#deltas] = [f, delta ? this.#deltas + 1 : 0];
    if (prev && prev.data !== f.data) this.stream.recycle(prev.data);
  }

  async #pump(): Promise<ViewerEnd> {
    await this.#begun;
    try {
      for (;;) {
        await this.#waitRoom();
        if (this.#sink.outbox.closed) {
          this.#reason ??= "closed";
          break;
        }
        const f = await this.stream.nextFrame();
        if (!f) break;
        if (this.#sink.outbox.closed || this.#reason !== null) {
          this.#skipped++;
          this.#keep(f, false, false);
          continue;
        }
        const delta = this.#delta(f);
        const ok = this.#sink.send({
          t: "video.frame",
          stream: this.id,
          pts: Math.round(f.pts),
          rendition: f.rendition,
          index: f.index,
          width: f.width,
          height: f.height,
          ...(f.format === "rgb" ? { format: "rgb" as const } : {}), // absent: a JPEG
          ...(delta ? { delta: true as const } : {}),
        }, delta ?? f.data);
        const bytes = (delta ?? f.data).length;
        this.#keep(f, ok, delta !== null);
        if (!ok) continue;
        this.#sent++;
        this.#by[f.rendition]++;
        this.#measure(bytes + 128);
      }
    } finally {
      await this.stream.stop();
    }
    const st = this.stream.stats();
    const end: ViewerEnd = {
      reason: this.#reason ?? (st.error ? "error" : "end"),
      sent: this.#sent,
      dropped: st.dropped + this.#skipped,
      byRendition: { ...this.#by },
      error: st.error,
    };
    if (!this.#sink.outbox.closed) {
      this.#sink.send({ t: "video.end", stream: this.id, reason: end.reason, stats: { ...end } });
    }
    return end;
  }
}

/**
 * VideoClient — the client side of `video.*` over a `Connection`: list the server's library and
 * play a video. A `Playback` counts every `video.frame` it receives (per rendition, in order) and
 * keeps at most the three newest undrawn ones (`JITTER_FRAMES`, oldest dropped first), so a
 * painter that stalls now and then catches up and a slow one skips frames instead of queueing
 * them; a play with a `lead` (frames sent early, in bursts) holds a lead's worth more. Raw frames
 * sent as deltas are rebuilt on arrival, in order, before that choice (see `FramesWanted`), into the
 * buffers of frames the player is done with (`release`) and no longer the next delta's base. Frames that
 * arrive before the `video.play` reply are held for their stream.
 * Controls (pause, resume, seek, pane, stop, and the player's `report`) are `video.ctl` requests;
 * `ended` resolves with the server's `video.end` (or when the connection closes).
 */
import { applyRgbDelta } from "../../media/rgb_delta.ts";
import { BufferPool } from "../../media/buffer_pool.ts";
import { LatestSlot } from "../../media/frame_slot.ts";
import type { Rendition } from "../../media/thirds.ts";
import { isLocalAddress } from "../../net/local_address.ts";
import type { VideoFrameData, VideoHandle, VideoListing } from "../backend.ts";
import { type Frame, releaseBody } from "../../protocol/frame.ts";
import type { Connection } from "../session/connection.ts";
import { paneFields } from "../../protocol/messages.ts";

/** A video in the server's library (the backend's `VideoListing`). */
export type VideoEntry = VideoListing;

/** A frame as the UI draws it (the backend's `VideoFrameData`). */
export type VideoFrame = VideoFrameData;

export interface PlaybackEnd {
  reason: string;
  stats: Record<string, unknown>;
}

export interface PlayOptions {
  mode?: "adaptive" | "thirds" | Rendition;
  /** Pane size in pixels (the server scales frames to fit). */
  width?: number;
  height?: number;
  /** Start position, ms. */
  start?: number;
  /** Ask for frames up to this many ms before they are due (the player paces them; see `VideoHandle.lead`). */
  lead?: number;
  /** How small (half-block) frames should come; see `FramesWanted`. Default "jpeg". */
  format?: FramesWanted;
  /**
   * Hears every frame received (`Playback.onFrame`), from the first: frames that came before the play's
   * reply (the server may send the first at once) reach it too, which a listener added once `play`
   * resolved would miss. `p` is the playback it came on (`stopAfterThis`).
   */
  onFrame?: (f: VideoFrame, p: Playback) => void;
}

/**
 * "rgb": small frames as raw RGB24, whole or as a delta against the last one — up to 15× the bytes
 * of JPEG when every pixel moves (200×60 cells: 70 KB a frame, 1.7 MB/s at 24 fps), a fraction of
 * that where the picture stands still — but nothing to decode, which on loopback saves more CPU on
 * both ends than the bytes cost. "auto": "rgb" when the server's address is loopback or on a
 * private network (`isLocalAddress`), else "jpeg". Larger frames are always JPEG.
 */
export type FramesWanted = "jpeg" | "rgb" | "auto";

/** What `want` means for a server at `host` (the connection's remote address). */
export function framesFormat(want: FramesWanted | undefined, host: string): "jpeg" | "rgb" {
  if (want === "auto") return isLocalAddress(host) ? "rgb" : "jpeg";
  return want === "rgb" ? "rgb" : "jpeg";
}

/** Where a player takes frames from: a server playback or a user-to-user stream. */
export type FrameSource = VideoHandle;

const EARLY_MAX = 16;

/**
 * Frames a playback holds for its painter: enough to ride out a stall of about two frame times (at
 * 24 fps, a terminal parsing one big kitty frame, a garbage collection) without a drop, few enough
 * that a slow painter runs at most two frames behind.
 */
export const JITTER_FRAMES = 3;

export class Playback implements FrameSource {
  readonly received: Record<Rendition, number> = { "240p": 0, "720p": 0, "1080p": 0 };
  /** Every frame's (rendition, index) in arrival order, for checks and summaries. */
  readonly order: { rendition: Rendition; index: number }[] = [];
  bytes = 0;
  lastPts = 0;
  readonly ended: Promise<PlaybackEnd>;
  #end!: (e: PlaybackEnd) => void;
  readonly #slot: LatestSlot<VideoFrame>;
  readonly #listeners = new Set<(f: VideoFrame) => void>();
  #stopped = false;
  #lastOne = false;
  /** The last raw frame, which the next delta applies to, and whether the player released it. */
  #rgb: VideoFrame | null = null;
  #rgbReleased = false;
  /** Buffers of raw frames released and no longer a base: the next rebuilt frames are written there. */
  readonly #pool = new BufferPool(4);
  /** Deltas that could not be applied (no base of that size, or malformed): dropped. */
  badDeltas = 0;
  #noReports = false;
  /** The whole video's length, ms. */
  readonly duration: number;

  constructor(
    readonly conn: Connection,
    readonly stream: number,
    readonly info: { fps: number; duration: number; renditions: Rendition[]; width: number; height: number },
    /** Ms ahead of their time the server sends frames (it granted this lead); up to two leads' worth are held. */
    readonly lead = 0,
    /** How small frames come (as the server granted): "rgb" ones need no decoder. */
    readonly format: "jpeg" | "rgb" = "jpeg",
  ) {
    this.ended = new Promise((r) => (this.#end = r));
    this.duration = info.duration * 1000;
    // Room for two leads: frames come up to a lead early, and a player that started late holds more.
    const early = lead > 0 && info.fps > 0 ? Math.ceil((2 * lead * info.fps) / 1000) : 0;
    this.#slot = new LatestSlot<VideoFrame>(JITTER_FRAMES + early);
  }

  /** Ms of frames held beyond the lead (see `VideoHandle.backlog`). */
  get backlog(): number {
    return this.info.fps > 0 ? Math.max(0, (this.#slot.size * 1000) / this.info.fps - this.lead) : 0;
  }

  /** Frames received per rendition (the backend's name for `received`). */
  get perRendition(): Readonly<Record<string, number>> {
    return this.received;
  }

  get dropped(): number {
    return this.#slot.dropped;
  }

  /** Called for every frame received (before the slot), e.g. to count or to stop at N. */
  onFrame(l: (f: VideoFrame) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** @internal fed by VideoClient, in arrival order; `delta`: a raw frame coded against the last one. */
  push(wire: VideoFrame, delta = false): void {
    if (this.#stopped) return;
    const f = this.#rebuilt(wire, delta);
    if (!f) return;
    this.received[f.rendition] = (this.received[f.rendition] ?? 0) + 1;
    this.order.push({ rendition: f.rendition, index: f.index });
    this.bytes += f.bytes ?? wire.data.length;
    this.lastPts = f.pts;
    for (const l of this.#listeners) l(f);
    if (this.#stopped) return;
    this.#slot.offer(f);
    if (this.#lastOne) void this.stop();
  }

  /** The whole frame `wire` stands for (a delta applied to the last raw frame); null: a bad delta. */
  #rebuilt(wire: VideoFrame, delta: boolean): VideoFrame | null {
    if (wire.format !== "rgb") return wire;
    let f = wire;
    if (delta) {
      const base = this.#rgb;
      try {
        if (!base || base.width !== wire.width || base.height !== wire.height) {
          throw new RangeError("no base");
        }
        const out = this.#pool.take(base.data.length);
        try {
          f = { ...wire, data: applyRgbDelta(base.data, wire.data, out), bytes: wire.data.length };
        } catch (e) {
          this.#pool.give(out);
          throw e;
        }
      } catch {
        this.badDeltas++; // the next whole frame (the server sends one at least every 2 s) heals it
        return null;
      }
      releaseBody(wire.data); // applied: its buffer (the frame's own, read in place) is freed now
    }
    if (this.#rgb && this.#rgbReleased) this.#pool.give(this.#rgb.data); // drawn, and no base any more
    this.#rgb = f;
    this.#rgbReleased = false;
    return f;
  }

  /**
   * The player is done with `f` (drawn or skipped): a raw frame's buffer takes a later rebuilt
   * frame, once it is no longer the base of the next delta.
   */
  release(f: VideoFrame): void {
    if (f.format !== "rgb") return;
    if (f === this.#rgb) this.#rgbReleased = true;
    else this.#pool.give(f.data);
  }

  /**
   * The frame being delivered (call this from an `onFrame` listener) is the last one taken: then
   * `stop()`; the frames held, this one included, are still drawn.
   */
  stopAfterThis(): void {
    this.#lastOne = true;
  }

  /** @internal */
  finish(e: PlaybackEnd): void {
    this.#slot.close();
    this.#end(e);
  }

  next(): Promise<VideoFrame | null> {
    return this.#slot.take();
  }

  #ctl(op: string, extra: Record<string, unknown> = {}): Promise<void> {
    return this.conn.request("video.ctl", { stream: this.stream, op, ...extra }).then(() => {});
  }
  pause(): Promise<void> {
    return this.#ctl("pause");
  }
  resume(): Promise<void> {
    return this.#ctl("resume");
  }
  seek(ms: number): Promise<void> {
    this.#slot.clear(); // frames held from before the seek are stale
    return this.#ctl("seek", { pts: Math.max(0, Math.round(ms)) });
  }
  setPane(width: number, height: number): Promise<void> {
    return this.#ctl("pane", paneFields(width, height));
  }

  /** Tells the server what was drawn (see `VideoHandle.report`); a server that refuses it is not told again. */
  report(fps: number, load: number): void {
    if (this.#stopped || this.#noReports || this.conn.closed) return;
    const r = (x: number, k: number) => Math.round(Math.min(k, Math.max(0, x)) * 1000) / 1000;
    this.#ctl("report", { fps: r(fps, 240), load: r(load, 100) }).catch(() => {
      this.#noReports = true; // an older server (no such op) or the stream just ended
    });
  }

  /** Stops playback (frames still in flight are ignored); resolves when the server confirmed. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#slot.close();
    if (this.conn.closed) return;
    await this.#ctl("stop").catch(() => {}); // already ended: fine
  }
}

export class VideoClient {
  readonly #plays = new Map<number, Playback>();
  readonly #early = new Map<number, Frame[]>();
  readonly #off: () => void;

  constructor(readonly conn: Connection) {
    this.#off = conn.onPush((f) => this.#onPush(f));
    conn.done.then(() => {
      for (const p of this.#plays.values()) p.finish({ reason: "disconnected", stats: {} });
      this.#plays.clear();
    });
  }

  async list(): Promise<{ videos: VideoEntry[]; available: boolean; preparing: boolean }> {
    const h = (await this.conn.request("video.list")).header;
    return {
      videos: h.videos as VideoEntry[],
      available: h.available === true,
      preparing: h.preparing === true,
    };
  }

  async play(name: string, o: PlayOptions = {}): Promise<Playback> {
    const fields: Record<string, unknown> = { name };
    if (o.mode) fields.mode = o.mode;
    if (o.width && o.height) {
      Object.assign(fields, paneFields(o.width, o.height));
    }
    if (o.start) fields.start = Math.round(o.start);
    if (o.lead) fields.lead = Math.round(o.lead);
    if (framesFormat(o.format, this.conn.conn.remoteAddr.hostname) === "rgb") fields.format = "rgb";
    const h = (await this.conn.request("video.play", fields)).header;
    const p = new Playback(
      this.conn,
      h.stream as number,
      {
        fps: Number(h.fps),
        duration: Number(h.duration),
        renditions: h.renditions as Rendition[],
        width: Number(h.width ?? 0),
        height: Number(h.height ?? 0),
      },
      Number.isFinite(h.lead) ? Math.max(0, Number(h.lead)) : 0,
      h.format === "rgb" ? "rgb" : "jpeg",
    );
    this.#plays.set(p.stream, p);
    p.ended.then(() => this.#plays.delete(p.stream));
    const heard = o.onFrame;
    if (heard) p.onFrame((f) => heard(f, p));
    for (const f of this.#early.get(p.stream) ?? []) this.#onPush(f);
    this.#early.delete(p.stream);
    return p;
  }

  /** Stops listening (does not close the connection). */
  close(): void {
    this.#off();
  }

  #onPush(f: Frame): void {
    const h = f.header;
    if (h.t !== "video.frame" && h.t !== "video.end") return;
    const id = h.stream as number;
    const p = this.#plays.get(id);
    if (!p) {
      // Before the play reply was handled: keep a few for the stream about to be known.
      const q = this.#early.get(id) ?? [];
      if (q.length < EARLY_MAX || h.t === "video.end") q.push(f);
      this.#early.set(id, q);
      if (this.#early.size > 8) this.#early.delete(this.#early.keys().next().value!);
      return;
    }
    if (h.t === "video.end") {
      this.#plays.delete(id);
      p.finish({ reason: String(h.reason), stats: (h.stats ?? {}) as Record<string, unknown> });
      return;
    }
    p.push({
      pts: Number(h.pts),
      index: Number(h.index),
      rendition: h.rendition as Rendition,
      width: Number(h.width),
      height: Number(h.height),
      data: f.body,
      format: h.format === "rgb" ? "rgb" : "jpeg",
    }, h.delta === true);
  }
}

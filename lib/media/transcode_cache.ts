/**
 * TranscodeCache — the frames ffmpeg made of a whole rendition at one frame size, rate, quality and
 * format, kept from an earlier play so that the next play at that size replays them instead of
 * running ffmpeg again (issue 75: a play's ffmpeg costs ~0.1 s of CPU to start — it links 200+
 * libraries — and its decode, scale and encode per frame; a pane's size repeats from play to play).
 * `source` wraps a spawn function (ffmpeg.ts `spawnMjpeg`'s shape): a run from the start with no
 * frame limit that reaches the end of the video untouched — not stopped, not aborted, not failed —
 * is kept; a later run with the same arguments but its start and frame limit replays the kept frames
 * from its start's frame. Bounded by bytes: an entry larger than `maxEntryBytes` is not kept, and
 * the least recently used entries go once the whole passes `maxBytes`. Replayed frames are copies
 * (raw ones in the run's pool buffers), so a consumer may fill or recycle them. Pure (no I/O of its own).
 */
import { mjpegArgs, type MjpegOptions, type MjpegSource } from "./ffmpeg.ts";

/** Bytes kept for every video and size together by default. */
export const TRANSCODE_CACHE_BYTES = 128 * 1024 * 1024;
/** Bytes of one kept run at most by default (a 20 s half-block clip at 200×120 raw is ~35 MB). */
export const TRANSCODE_ENTRY_BYTES = 48 * 1024 * 1024;

/** What a run is, its start and frame limit left out: the key of the frames it makes. */
function keyOf(o: MjpegOptions): string | null {
  try {
    return [o.ffmpeg, ...mjpegArgs({ ...o, startSec: undefined, maxFrames: undefined })].join("\0");
  } catch {
    return null; // options ffmpeg would refuse: the spawn says why
  }
}

/** The first frame of a run starting at `startSec` (0 from the start), null when it is not on a frame. */
export function startFrame(startSec: number | undefined, fps: number): number | null {
  const f = (startSec ?? 0) * fps;
  const k = Math.round(f);
  return Math.abs(f - k) < 1e-6 && k >= 0 ? k : null;
}

/** The kept runs of a server's plays (see the module comment). */
export class TranscodeCache {
  /** Kept runs, the least recently used first (a use moves one to the end). */
  readonly #m = new Map<string, Uint8Array[]>();
  #bytes = 0;
  /** Runs replayed from kept frames (tests and figures). */
  hits = 0;

  /** Keeps runs of at most `maxEntryBytes` each, `maxBytes` in all. */
  constructor(
    readonly maxBytes = TRANSCODE_CACHE_BYTES,
    readonly maxEntryBytes = Math.min(TRANSCODE_ENTRY_BYTES, maxBytes),
  ) {}

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Runs kept now. */
  get size(): number {
    return this.#m.size;
  }

  /** Forgets every run (the renditions may have been made again). */
  clear(): void {
    this.#m.clear();
    this.#bytes = 0;
  }

  /** The frames of `o`: replayed when a whole run with its arguments is kept, else `spawn(o)`'s (kept when whole). */
  source(o: MjpegOptions, spawn: (o: MjpegOptions) => MjpegSource): MjpegSource {
    const key = keyOf(o);
    const from = startFrame(o.startSec, o.fps);
    const kept = key !== null && from !== null ? this.#m.get(key) : undefined;
    if (kept && from! < kept.length) {
      this.hits++;
      this.#m.delete(key!);
      this.#m.set(key!, kept); // the most recently used now
      const end = o.maxFrames === undefined ? kept.length : Math.min(kept.length, from! + o.maxFrames);
      return replay(kept, from!, end, o);
    }
    const src = spawn(o);
    const whole = key !== null && from === 0 && o.maxFrames === undefined;
    return whole ? this.#recording(key!, src, o) : src;
  }

  /** `src`, its frames copied aside as they pass and kept when it ends by itself. */
  #recording(key: string, src: MjpegSource, o: MjpegOptions): MjpegSource {
    let stopped = false;
    const keep = (frames: Uint8Array[], bytes: number) => this.#keep(key, frames, bytes);
    const limit = this.maxEntryBytes;
    async function* frames(): AsyncGenerator<Uint8Array> {
      let kept: Uint8Array[] | null = [];
      let bytes = 0;
      for await (const f of src) {
        if (kept) {
          bytes += f.length;
          if (bytes > limit) kept = null; // too large to keep: played, not kept
          else kept.push(f.slice()); // a raw frame's buffer is filled again once recycled
        }
        yield f;
      }
      if (kept && kept.length && !stopped && !o.signal?.aborted) keep(kept, bytes);
    }
    return {
      pid: src.pid,
      stop: () => {
        stopped = true;
        return src.stop();
      },
      [Symbol.asyncIterator]: () => frames(),
    };
  }

  /** Keeps `frames` as the newest run; the least recently used others go while the whole is over `maxBytes`. */
  #keep(key: string, frames: Uint8Array[], bytes: number): void {
    const old = this.#m.get(key);
    if (old) this.#bytes -= sum(old);
    this.#m.delete(key);
    this.#m.set(key, frames);
    this.#bytes += bytes;
    for (const [k, v] of this.#m) {
      if (this.#bytes <= this.maxBytes || k === key) break;
      this.#m.delete(k);
      this.#bytes -= sum(v);
    }
  }
}

function sum(frames: Uint8Array[]): number {
  let n = 0;
  for (const f of frames) n += f.length;
  return n;
}

/** Frames [from, end) of a kept run as a source of its own: copies, raw ones in the run's pool buffers. */
function replay(kept: Uint8Array[], from: number, end: number, o: MjpegOptions): MjpegSource {
  let stopped = o.signal?.aborted ?? false;
  async function* frames(): AsyncGenerator<Uint8Array> {
    for (let i = from; i < end && !stopped && !o.signal?.aborted; i++) {
      const f = kept[i]!;
      const copy = o.pool && o.format === "rgb" ? o.pool.take(f.length) : new Uint8Array(f.length);
      copy.set(f);
      yield copy;
    }
  }
  return {
    pid: 0,
    stop: () => {
      stopped = true;
      return Promise.resolve();
    },
    [Symbol.asyncIterator]: () => frames(),
  };
}

/**
 * FirstFrames — frame 0 of a video as ffmpeg made it for one rendition, frame size and format (a
 * JPEG, or raw RGB24 for half-block frames), kept from an earlier play so that the next play from the
 * start at that size sends it at once while its ffmpeg starts (media/stream.ts). Bounded: at most
 * `max` frames, each at most `MAX_FIRST_FRAME_BYTES`, the least recently used forgotten first; a frame
 * whose bytes do not fit its size is neither kept nor given back. Pure (no I/O).
 */
import { LruMap } from "../common/lru.ts";
import type { FrameFormat } from "./ffmpeg.ts";
import { isWholeJpeg, jpegSize } from "./jpeg_header.ts";
import type { Rendition } from "./thirds.ts";

/** A frame bigger than this is not kept (a full-HD JPEG is ~0.3 MB; a half-block raw frame < 0.1 MB). */
export const MAX_FIRST_FRAME_BYTES = 1024 * 1024;

/** Which frame 0: the rendition, the frame's size and how it is coded. */
export interface FirstFrameKey {
  /** The rendition ffmpeg read. */
  rendition: Rendition;
  /** The frame's width in pixels. */
  width: number;
  /** The frame's height in pixels. */
  height: number;
  /** A JPEG, or raw RGB24. */
  format: FrameFormat;
}

/** What a stream asks of the frames kept for its video (`FirstFrameCache.of`). */
export interface FirstFrames {
  /** A copy of the kept frame 0 (the stream may hand it to a pool that fills it again), if any. */
  get(k: FirstFrameKey): Uint8Array | undefined;
  /** Keeps a copy of ffmpeg's frame 0 (`data` may be filled again once this returns). */
  set(k: FirstFrameKey, data: Uint8Array): void;
}

/** True when `data` is a whole frame of the key's size and format (a JPEG: its header's size, its end marker). */
export function fitsKey(k: FirstFrameKey, data: Uint8Array): boolean {
  if (data.length === 0 || data.length > MAX_FIRST_FRAME_BYTES) return false;
  if (k.format === "rgb") return data.length === k.width * k.height * 3;
  const size = isWholeJpeg(data) ? jpegSize(data) : null;
  return size !== null && size.width === k.width && size.height === k.height;
}

/** The frames 0 kept for every video of a server, `max` at most (see the module comment). */
export class FirstFrameCache {
  readonly #m: LruMap<string, Uint8Array>;

  /** Keeps at most `max` frames (every video's together). */
  constructor(max = 32) {
    this.#m = new LruMap(max);
  }

  /** Frames kept now. */
  get size(): number {
    return this.#m.size;
  }

  /** Forgets every frame (the renditions were made again). */
  clear(): void {
    this.#m.clear();
  }

  /** The frames kept for the video called `video`. */
  of(video: string): FirstFrames {
    const key = (k: FirstFrameKey) => `${video}\n${k.rendition} ${k.width}x${k.height} ${k.format}`;
    return {
      get: (k) => {
        const data = this.#m.get(key(k));
        return data && fitsKey(k, data) ? data.slice() : undefined;
      },
      set: (k, data) => {
        if (fitsKey(k, data)) this.#m.set(key(k), data.slice());
      },
    };
  }
}

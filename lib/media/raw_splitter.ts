/**
 * RawSplitter — cuts a byte stream of fixed-size raw frames (ffmpeg `-f rawvideo`, e.g. RGB24 of a
 * known width and height) into whole frames. Pure and incremental like MjpegSplitter: `push(chunk)`
 * returns the frames that chunk completes, in order, whatever the chunk boundaries; each frame is an
 * array of exactly `frameBytes` bytes of its own: a fresh one, or one a `pool` (buffer_pool.ts) was
 * given back. A trailing partial frame is never returned.
 */
import type { BufferPool } from "./buffer_pool.ts";
import type { FrameSplitter } from "./mjpeg_splitter.ts";

export class RawSplitter implements FrameSplitter {
  readonly #size: number;
  #cur: Uint8Array;
  #len = 0;
  readonly #pool: BufferPool | null;

  constructor(frameBytes: number, pool?: BufferPool) {
    if (!Number.isInteger(frameBytes) || frameBytes < 1) {
      throw new RangeError(`Bad raw frame size ${frameBytes}`);
    }
    this.#size = frameBytes;
    this.#pool = pool ?? null;
    this.#cur = this.#pool ? this.#pool.take(frameBytes) : new Uint8Array(frameBytes);
  }

  /** Bytes held for an unfinished frame. */
  get pending(): number {
    return this.#len;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(this.#size - this.#len, chunk.length - off);
      this.#cur.set(chunk.subarray(off, off + take), this.#len);
      this.#len += take;
      off += take;
      if (this.#len === this.#size) {
        out.push(this.#cur);
        this.#cur = this.#pool ? this.#pool.take(this.#size) : new Uint8Array(this.#size);
        this.#len = 0;
      }
    }
    return out;
  }
}

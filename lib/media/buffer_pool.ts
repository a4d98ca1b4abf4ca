/**
 * BufferPool — pure. A few byte buffers of one size, handed back by their last user and handed out
 * again, so a stream of raw frames of one size (a server playback's RGB frames out of ffmpeg, a
 * client's frames rebuilt from RGB deltas) does not allocate a fresh frame's worth every frame.
 * Used by raw_splitter.ts (through stream.ts and ffmpeg.ts) on the server and by the client's
 * video/video_client.ts. A buffer of another size than the last one asked for is not kept; at most
 * `max` are kept. A buffer given back must not be used by its giver any more.
 */
export class BufferPool {
  #size = 0;
  readonly #free: Uint8Array[] = [];
  /** Buffers handed out that came from the pool. */
  reused = 0;
  /** Buffers handed out that were made new. */
  made = 0;

  /** A pool keeping at most `max` buffers. */
  constructor(readonly max = 4) {}

  /** A buffer of `size` bytes: a kept one (its old bytes still in it) or a new one (zeroed). */
  take(size: number): Uint8Array {
    if (size !== this.#size) {
      this.#size = size;
      this.#free.length = 0; // the frame size changed: the kept ones no longer fit
    }
    const b = this.#free.pop();
    if (b) {
      this.reused++;
      return b;
    }
    this.made++;
    return new Uint8Array(size);
  }

  /** Gives `b` back for a later `take`; false when it is not kept (another size, the pool full, already in). */
  give(b: Uint8Array): boolean {
    if (b.length !== this.#size || this.#free.length >= this.max || this.#free.includes(b)) return false;
    this.#free.push(b);
    return true;
  }

  /** Buffers kept now. */
  get kept(): number {
    return this.#free.length;
  }
}

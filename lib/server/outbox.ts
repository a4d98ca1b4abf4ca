/**
 * Per-connection bounded send queue. Frames are encoded once by the caller and the same bytes may
 * sit in many outboxes. Frames pushed while a write is in flight are coalesced into the next
 * single write. When queued bytes would pass `maxBytes` the connection is declared too slow via
 * `onOverflow` and nothing more is accepted: a slow reader never slows anyone else.
 */

export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
}

const MAX_WRITE = 256 * 1024;

export class Outbox {
  #q: Uint8Array[] = [];
  #bytes = 0;
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];

  constructor(
    readonly w: ByteWriter,
    readonly maxBytes: number,
    readonly onOverflow: () => void,
    readonly onError: (e: unknown) => void,
  ) {}

  /** Bytes queued or in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(frame: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#bytes + frame.length > this.maxBytes) {
      this.#closed = true;
      this.#q = [];
      this.onOverflow();
      return false;
    }
    this.#q.push(frame);
    this.#bytes += frame.length;
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => this.#flush());
    }
    return true;
  }

  /** Resolves when everything queued so far has been written (or the outbox closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /** Stops accepting frames; pending ones are discarded. */
  close(): void {
    this.#closed = true;
    this.#q = [];
    this.#wake();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#q.length > 0 && !this.#closed) {
        let n = 0, k = 0;
        while (k < this.#q.length && (k === 0 || n + this.#q[k]!.length <= MAX_WRITE)) {
          n += this.#q[k++]!.length;
        }
        let buf: Uint8Array;
        if (k === 1) buf = this.#q[0]!;
        else {
          buf = new Uint8Array(n);
          let o = 0;
          for (let i = 0; i < k; i++) {
            buf.set(this.#q[i]!, o);
            o += this.#q[i]!.length;
          }
        }
        this.#q = k === this.#q.length ? [] : this.#q.slice(k);
        let off = 0;
        while (off < buf.length) off += await this.w.write(off === 0 ? buf : buf.subarray(off));
        this.#bytes -= n;
      }
    } catch (e) {
      if (!this.#closed) {
        this.#closed = true;
        this.#q = [];
        this.onError(e);
      }
    } finally {
      this.#writing = false;
      this.#wake();
    }
  }

  #wake(): void {
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const r of w) r();
  }
}

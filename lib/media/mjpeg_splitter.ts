/**
 * MjpegSplitter — cuts a byte stream of concatenated JPEG images (ffmpeg `image2pipe` MJPEG) into
 * whole frames. Pure and incremental: `push(chunk)` returns the frames completed by that chunk, in
 * order, whatever the chunk boundaries (markers split across chunks, one byte at a time).
 *
 * A frame runs from SOI (FF D8) to EOI (FF D9). Marker segments before the scan are skipped by
 * their length, so an FF D9 inside an APPn segment (an EXIF thumbnail) does not end the frame;
 * inside entropy-coded data FF 00 (stuffing) and FF D0–D7 (restart) are data. Bytes before an SOI
 * are discarded. A frame over `maxFrameBytes` is dropped and the splitter looks for the next SOI.
 */

/** Default limit for one frame; larger frames are dropped (counted in `oversized`). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

const enum State {
  /** Looking for FF D8. */
  Seek,
  /** Inside the header: expecting a marker (FF xx) and its segment. */
  Header,
  /** Inside entropy-coded data after SOS: scanning for FF D9. */
  Scan,
}

/** What ffmpeg's frame streams are cut with: JPEGs (MjpegSplitter) or fixed-size raw frames (RawSplitter). */
export interface FrameSplitter {
  /** Feeds bytes; returns the whole frames they complete, in order, each its own array. */
  push(chunk: Uint8Array): Uint8Array[];
  /** Bytes held for an unfinished frame. */
  readonly pending: number;
}

export class MjpegSplitter implements FrameSplitter {
  #buf = new Uint8Array(64 * 1024);
  #len = 0; // bytes held in #buf
  #pos = 0; // scan cursor inside #buf
  #state = State.Seek;
  #max: number;
  /** Number of frames dropped for exceeding `maxFrameBytes`. */
  oversized = 0;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.#max = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Bytes held for an unfinished frame. */
  get pending(): number {
    return this.#len;
  }

  /** Feeds bytes; returns the frames they complete (each a fresh copy). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      // Append as much as fits under the limit plus a little, then scan.
      const room = Math.max(0, this.#max + 2 - this.#len);
      const take = Math.min(chunk.length - off, Math.max(room, 1));
      this.#append(chunk.subarray(off, off + take));
      off += take;
      this.#scan(out);
    }
    return out;
  }

  /** Forgets any partial frame (e.g. after a seek restarts the source). */
  reset(): void {
    this.#len = 0;
    this.#pos = 0;
    this.#state = State.Seek;
  }

  #append(b: Uint8Array): void {
    if (this.#len + b.length > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < this.#len + b.length) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.#buf.subarray(0, this.#len));
      this.#buf = nb;
    }
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** Drops the first `n` held bytes. */
  #consume(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    this.#pos -= n;
  }

  /** Runs the state machine over the held bytes, pushing each whole frame to `out`, until it needs more. */
  #scan(out: Uint8Array[]): void {
    for (;;) {
      if (this.#state === State.Seek) {
        if (!this.#seek()) return;
        continue;
      }
      if (this.#len > this.#max) {
        this.oversized++;
        this.#pos = 2;
        this.#consume(2); // drop this SOI; look for the next one in what is held
        this.#pos = 0;
        this.#state = State.Seek;
        continue;
      }
      if (!(this.#state === State.Header ? this.#header(out) : this.#entropy(out))) return;
    }
  }

  /** Seek: finds the next SOI and moves it to the start (false: none yet, all but a trailing FF dropped). */
  #seek(): boolean {
    const b = this.#buf, len = this.#len;
    let i = this.#pos;
    while (i + 1 < len && !(b[i] === 0xff && b[i + 1] === 0xd8)) i++;
    if (i + 1 >= len) {
      // Keep a trailing FF: it may start the next SOI.
      const keep = len > 0 && b[len - 1] === 0xff ? 1 : 0;
      this.#pos = len;
      this.#consume(len - keep);
      this.#pos = 0;
      return false;
    }
    this.#pos = i;
    this.#consume(i); // frame now starts at 0
    this.#pos = 2;
    this.#state = State.Header;
    return true;
  }

  /** Header: steps over one marker segment (false: it is not all held yet). */
  #header(out: Uint8Array[]): boolean {
    const b = this.#buf, len = this.#len;
    let i = this.#pos;
    while (i < len && b[i] !== 0xff) i++; // tolerate junk between segments
    while (i + 1 < len && b[i + 1] === 0xff) i++; // fill bytes
    if (i + 1 >= len) {
      this.#pos = i;
      return false;
    }
    const m = b[i + 1]!;
    if (m === 0xd9) {
      this.#emit(out, i + 2);
      return true;
    }
    if (m === 0xd8) { // a new SOI: the previous frame was truncated
      this.#consume(i);
      this.#pos = 2;
      return true;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { // markers without a length
      this.#pos = i + 2;
      return true;
    }
    if (i + 3 >= len) {
      this.#pos = i;
      return false;
    }
    const next = i + 2 + ((b[i + 2]! << 8) | b[i + 3]!);
    if (m === 0xda) {
      this.#pos = next; // may lie beyond the held bytes until they arrive
      this.#state = State.Scan;
      return true;
    }
    if (next > len) {
      this.#pos = i;
      return false;
    }
    this.#pos = next;
    return true;
  }

  /** Scan: the entropy-coded data up to the next real marker (false: not held yet). */
  #entropy(out: Uint8Array[]): boolean {
    const b = this.#buf, len = this.#len;
    let i = this.#pos;
    if (i > len) return false;
    for (;;) {
      while (i < len && b[i] !== 0xff) i++;
      if (i + 1 >= len) {
        this.#pos = i;
        return false;
      }
      const m = b[i + 1]!;
      if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
        i += m === 0xff ? 1 : 2;
        continue;
      }
      break;
    }
    if (b[i + 1] === 0xd9) {
      this.#emit(out, i + 2);
      return true;
    }
    // Another marker after a scan (progressive JPEG: more tables and scans).
    this.#pos = i;
    this.#state = State.Header;
    return true;
  }

  #emit(out: Uint8Array[], end: number): void {
    out.push(this.#buf.slice(0, end));
    this.#consume(end);
    this.#pos = 0;
    this.#state = State.Seek;
  }
}

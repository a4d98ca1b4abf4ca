/**
 * Pure frame codec: bytes in, frames out; no I/O.
 *
 * Wire format of one frame (all integers big-endian):
 *   u32 len   — number of bytes that follow (4 + header length + body length)
 *   u32 hlen  — header length in bytes
 *   header    — UTF-8 JSON object, `hlen` bytes
 *   body      — raw bytes, `len - 4 - hlen` bytes (may be empty; never base64)
 * The frame cap applies to `len` and is checked from the prefix alone, before any allocation.
 * The header is capped at `MAX_HEADER` bytes and at `MAX_DEPTH` levels of nesting.
 */
import { release, u32be, utf8 } from "../common/bytes.ts";
import { ErrorCode, ProtocolError } from "./errors.ts";
import { decodeFrameBytes, type Frame } from "./header.ts";
import { FRAME_PREFIX, putHead } from "./frame_put.ts";

export { type Frame, MAX_DEPTH, MAX_HEADER, parseHeader } from "./header.ts";

export const DEFAULT_MAX_FRAME = 1024 * 1024;
const EMPTY = new Uint8Array(0);
/** A frame at least this long gets its own buffer in an owning decoder as soon as its length is known. */
const OWN_ROOM = 64 * 1024;

/** Bodies of decoded frames whose bytes are a buffer of their own (no other frame's, no piece still read). */
const OWN = new WeakSet<Uint8Array>();

/**
 * Frees the buffer of a decoded frame's `body` at once (bytes.ts `release`: it is empty afterwards)
 * when that buffer holds this frame alone; true when it did. For the body's last user only.
 */
export function releaseBody(body: Uint8Array): boolean {
  if (!OWN.has(body)) return false;
  OWN.delete(body);
  release(new Uint8Array(body.buffer));
  return true;
}

/**
 * A frame decoded from `bytes` (the frame's bytes from `start` to `end`), its body marked as owning
 * its buffer when `own`.
 */
function decoded(bytes: Uint8Array, own: boolean, start = 0, end = bytes.length): Frame {
  const f = decodeFrameBytes(bytes, start, end);
  if (own) OWN.add(f.body);
  return f;
}

/**
 * Encodes a header object and an optional body into one frame. The body may come in parts (they
 * are copied once, straight into the frame).
 */
export function encodeFrame(header: object, body: Uint8Array | readonly Uint8Array[] = EMPTY): Uint8Array {
  return frameOfJson(JSON.stringify(header), body);
}

/** One frame of header text `json` (frame_put.ts `msgJson`, or JSON.stringify's) and a body, maybe in parts. */
export function frameOfJson(json: string, body: Uint8Array | readonly Uint8Array[] = EMPTY): Uint8Array {
  const parts = body instanceof Uint8Array ? [body] : body;
  let bodyLen = 0;
  for (const b of parts) bodyLen += b.length;
  // Headers are nearly always ASCII: then the JSON is encoded straight into the frame (one
  // allocation, no intermediate copy); otherwise its length is learnt first.
  let out = new Uint8Array(FRAME_PREFIX + json.length + bodyLen);
  let o = putHead(out, 0, json, bodyLen);
  if (o < 0) {
    out = new Uint8Array(FRAME_PREFIX + utf8.encode(json).length + bodyLen);
    o = putHead(out, 0, json, bodyLen);
  }
  for (const b of parts) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** A frame's length prefix and header, for a `bodyLen`-byte body written after them (so never copied). */
export function frameHead(header: object, bodyLen: number): Uint8Array {
  const head = encodeFrame(header);
  new DataView(head.buffer).setUint32(0, head.length - 4 + bodyLen);
  return head;
}

/** A frame whose `bodyLen`-byte body is left to fill in place (`body`: a view into `frame`, zeroed). */
export function frameWithRoom(header: object, bodyLen: number): { frame: Uint8Array; body: Uint8Array } {
  const head = frameHead(header, bodyLen);
  const frame = new Uint8Array(head.length + bodyLen);
  frame.set(head);
  return { frame, body: frame.subarray(head.length) };
}

/**
 * Incremental decoder. `push(chunk)` returns every frame completed by the chunk. After an error
 * the decoder is poisoned (the connection must be closed) and holds no buffered data.
 * A reader that can read into a buffer of its choosing may ask for `room(min)` first: while the
 * frame under way is known to lack at least `min` bytes, that is the rest of one buffer of the
 * whole frame (the bytes held so far copied in), to read into and report with `filled(n)` — the
 * frame's bulk is then never copied.
 * With `owns`, the decoder owns the pieces pushed to it (a socket's reads, nobody else's): a piece
 * copied into a frame's buffer is freed at once (bytes.ts `release`) unless a frame handed out is a
 * view of it, and a big frame under way gets its own buffer (`room`) as soon as its length is known,
 * so the rest of it is copied there as it comes and each piece freed; the body of a frame with a
 * buffer of its own (read in place, or copied by an owning decoder) may be freed by its last user
 * (`releaseBody`).
 */
export class FrameDecoder {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #need = -1; // total bytes of the current frame incl. prefix, or -1 when unknown
  #dead = false;
  /** The buffer of the frame under way while it is read in place (`room`), and how full it is. */
  #room: Uint8Array | null = null;
  readonly #owns: boolean;
  /** Buffers an owning decoder was pushed whole (a piece of a larger buffer, a pool's, is never freed). */
  readonly #mine: WeakSet<ArrayBufferLike> | null;
  /** Buffers of pushed pieces a frame handed out is a view of (never freed here). */
  readonly #lent: WeakSet<ArrayBufferLike> | null;

  constructor(maxFrame = DEFAULT_MAX_FRAME, o: { owns?: boolean } = {}) {
    this.#max = maxFrame;
    this.#owns = o.owns ?? false;
    // Only an owning decoder (a connection's reader, client or server) tracks buffers.
    this.#mine = this.#owns ? new WeakSet() : null;
    this.#lent = this.#owns ? new WeakSet() : null;
  }

  /**
   * `c`, a pushed piece or the rest of one, has been copied: when the decoder owns it, that was the
   * end of its buffer and no frame handed out is a view of it, the whole buffer is freed.
   */
  #done(c: Uint8Array): void {
    const b = c.buffer;
    if (this.#mine?.has(b) && c.byteOffset + c.length === b.byteLength && !this.#lent!.has(b)) {
      release(new Uint8Array(b));
    }
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The rest of the frame under way to read into, when it lacks at least `min` bytes; else null. */
  room(min: number): Uint8Array | null {
    if (this.#dead) throw new ProtocolError(ErrorCode.BadFrame, "Decoder already failed");
    if (this.#room) return this.#room.subarray(this.#buffered);
    if (this.#need < 0 || this.#need - this.#buffered < Math.max(1, min)) return null;
    const f = new Uint8Array(this.#need);
    let o = 0;
    for (const c of this.#chunks) { // all of them belong to this frame (it is not complete)
      f.set(c, o);
      o += c.length;
      this.#done(c);
    }
    this.#chunks = [];
    this.#room = f;
    return f.subarray(o);
  }

  /** `n` bytes were read into the `room`; returns the frame once it is complete. */
  filled(n: number): Frame[] {
    const f = this.#room;
    if (!f || this.#dead) throw new ProtocolError(ErrorCode.BadFrame, "No frame is being read in place");
    if (n < 0 || this.#buffered + n > f.length) throw new RangeError("More bytes than the room holds");
    this.#buffered += n;
    if (this.#buffered < f.length) return [];
    this.#room = null;
    this.#buffered = 0;
    this.#need = -1;
    try {
      return [decoded(f, true)];
    } catch (e) {
      this.#dead = true;
      throw e;
    }
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#dead) throw new ProtocolError(ErrorCode.BadFrame, "Decoder already failed");
    // A node Buffer (a socket's read) as a plain view: every view cut from a Buffer runs its
    // JavaScript constructor, and a frame takes five (issue 37).
    if (chunk.constructor !== Uint8Array) {
      chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    }
    const b = chunk.buffer;
    if (this.#owns && chunk.byteOffset === 0 && chunk.length === b.byteLength && b instanceof ArrayBuffer) {
      this.#mine!.add(b);
    }
    if (this.#room) { // bytes for a frame being read in place: into its buffer
      const k = Math.min(chunk.length, this.#room.length - this.#buffered);
      this.#room.set(chunk.subarray(0, k), this.#buffered);
      const out = this.filled(k);
      if (k === chunk.length) {
        this.#done(chunk);
        return out;
      }
      return [...out, ...this.push(chunk.subarray(k))];
    }
    const out: Frame[] = [];
    if (chunk.length === 0) return out;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    try {
      for (;;) {
        if (this.#chunks.length === 1 && this.#need < 0) this.#inPlace(out);
        if (this.#need < 0) {
          if (this.#buffered < 4) break;
          const len = this.#peekU32();
          if (len > this.#max) {
            throw new ProtocolError(
              ErrorCode.FrameTooLarge,
              `Frame of ${len} bytes exceeds the ${this.#max}-byte cap`,
            );
          }
          if (len < 4) throw new ProtocolError(ErrorCode.BadFrame, "Frame length is too small");
          this.#need = 4 + len;
        }
        if (this.#buffered < this.#need) {
          // An owning decoder copies a big frame's pieces into its buffer now (then frees them).
          if (this.#owns && this.#need >= OWN_ROOM) this.room(1);
          break;
        }
        const n = this.#need;
        this.#need = -1;
        out.push(this.#takeFrame(n));
      }
    } catch (e) {
      this.#dead = true;
      this.#chunks = [];
      this.#buffered = 0;
      throw e;
    }
    return out;
  }

  /** Call at end of stream: throws if a partial frame is pending. */
  end(): void {
    if (this.#buffered > 0 && !this.#dead) {
      this.#dead = true;
      this.#room = null;
      this.#chunks = [];
      this.#buffered = 0;
      throw new ProtocolError(ErrorCode.BadFrame, "Connection ended in the middle of a frame");
    }
  }

  #peekU32(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return u32be(first, 0);
    const b = new Uint8Array(4);
    let o = 0;
    for (const c of this.#chunks) {
      for (let i = 0; i < c.length && o < 4; i++) b[o++] = c[i]!;
      if (o === 4) break;
    }
    return u32be(b, 0);
  }

  /**
   * The whole frames at the start of the one piece held, read where they lie (issue 37: no view of
   * each frame and of the rest of the piece, only its body's); the rest of the piece stays held.
   * An owning decoder hands each out as `#takeFrame` does (`#handOut`).
   */
  #inPlace(out: Frame[]): void {
    const c = this.#chunks[0]!, n = c.length; // (`n`: a piece freed below reads as empty)
    let at = 0;
    while (n - at >= 4) {
      const len = u32be(c, at);
      if (len > this.#max || len < 4) break; // `push` says why
      const end = at + 4 + len;
      if (end > n) break;
      out.push(this.#owns ? this.#handOut(c, at, end, n) : decoded(c, false, at, end));
      at = end;
    }
    if (at === 0) return;
    this.#buffered -= at;
    if (at === n) this.#chunks.pop(); // (the only piece; pop keeps the list's store, length = 0 gives it back)
    else this.#chunks[0] = c.subarray(at);
  }

  /**
   * An owning decoder's frame `at`..`end` of the piece `c` (`n` long; the piece is no longer
   * held): a whole owned piece owns its buffer; a big frame is copied out, and the piece freed when
   * it ends there; any other is a view, and its buffer is then lent (never freed by the decoder).
   */
  #handOut(c: Uint8Array, at: number, end: number, n: number): Frame {
    const b = c.buffer;
    if (
      at === 0 && end === n && c.byteOffset === 0 && n === b.byteLength && this.#mine!.has(b) &&
      !this.#lent!.has(b)
    ) {
      return decoded(c, true);
    }
    if (end - at >= OWN_ROOM) {
      const f = decoded(c.slice(at, end), true); // (a plain view's slice is a copy: `push`)
      if (end === n) this.#done(c);
      return f;
    }
    this.#lent!.add(b);
    return decoded(c, false, at, end);
  }

  /** The next frame, `n` bytes long, cut from the pieces held. */
  #takeFrame(n: number): Frame {
    const first = this.#chunks[0]!, k = first.length;
    if (k >= n) {
      if (k === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return this.#owns ? this.#handOut(first, 0, n, k) : decoded(first, false, 0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.#chunks[0]!;
      const m = Math.min(c.length, n - o);
      out.set(c.subarray(0, m), o);
      o += m;
      if (m === c.length) {
        this.#chunks.shift();
        this.#done(c);
      } else this.#chunks[0] = c.subarray(m);
    }
    this.#buffered -= n;
    return decoded(out, this.#owns);
  }
}

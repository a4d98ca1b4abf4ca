/**
 * Test support: writes the message log's bytes as versions 0.13–0.20 did (segment_record.ts reads
 * them), so that tests can build an older data folder's `parley.db-messages/` to import.
 */
import {
  crcOf,
  ENTRY_FIXED,
  HEADER_BYTES,
  KINDS,
  MAGIC,
  RECORD_HEAD,
  TYPE_ENTRY,
  TYPE_TOMBSTONE,
  VERSION,
  viewOf,
} from "./segment_record.ts";
import type { LogEntry } from "./segment_log.ts";

/** A name's bound (u16 length) and a body's, as the old writer refused beyond them. */
const MAX_STRING_BYTES = 0xffff;
const MAX_BODY_BYTES = 1 << 30;
/** The writer's buffer is kept up to this size. */
const KEEP_BYTES = 8 << 20;

/** A segment's header, beginning at `base`. */
export function encodeHeader(base: number): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES), v = viewOf(b);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, VERSION, true);
  v.setFloat64(8, base, true);
  v.setUint32(16, crcOf(b.subarray(0, 16)), true);
  return b;
}

/** Records appended one after another into a buffer that grows and is kept for the next batch. */
export class RecordWriter {
  #buf = new Uint8Array(64 * 1024);
  #view = viewOf(this.#buf);
  readonly #enc = new TextEncoder();
  /** Bytes written since `reset`. */
  n = 0;

  /** The records written since `reset` (a view: valid until the next write). */
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.n);
  }

  /** Empties the writer (a buffer grown past KEEP_BYTES by a big batch is let go). */
  reset(): void {
    this.n = 0;
    if (this.#buf.length > KEEP_BYTES) this.#view = viewOf(this.#buf = new Uint8Array(64 * 1024));
  }

  #room(more: number): void {
    if (this.n + more <= this.#buf.length) return;
    const b = new Uint8Array(Math.max(this.#buf.length * 2, this.n + more));
    b.set(this.#buf.subarray(0, this.n));
    this.#buf = b;
    this.#view = viewOf(b);
  }

  #seal(start: number): number {
    const len = this.n - start - RECORD_HEAD;
    this.#view.setUint32(start, len, true);
    this.#view.setUint32(start + 4, crcOf(this.#buf.subarray(start + RECORD_HEAD, this.n)), true);
    return this.n - start;
  }

  /** Writes `s` at `at` (ASCII by a loop: ~10× cheaper than an `encodeInto` call for short names). */
  #str(s: string, at: number, lenAt: number, what: string): number {
    const b = this.#buf;
    let n = 0;
    for (let c = 0; n < s.length && (c = s.charCodeAt(n)) < 0x80; n++) b[at + n] = c;
    if (n < s.length) n = this.#enc.encodeInto(s, b.subarray(at, at + 3 * s.length)).written;
    if (n > MAX_STRING_BYTES) {
      throw new RangeError(`log entry: ${what} is over ${MAX_STRING_BYTES} bytes of UTF-8`);
    }
    this.#view.setUint16(lenAt, n, true);
    return at + n;
  }

  /** Writes one entry's record; its length. A RangeError leaves `n` as it was. */
  entry(e: LogEntry): number {
    const kind = KINDS.indexOf(e.kind);
    if (kind < 0) throw new RangeError(`log entry ${e.seq}: unknown kind ${e.kind}`);
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts)) {
      throw new RangeError(`log entry ${e.seq}: bad ts`);
    }
    if (e.expires != null && !Number.isFinite(e.expires)) {
      throw new RangeError(`log entry ${e.seq}: bad expires`);
    }
    if (!(e.body instanceof Uint8Array) || e.body.length > MAX_BODY_BYTES) {
      throw new RangeError(`log entry ${e.seq}: body is not bytes or over ${MAX_BODY_BYTES} bytes`);
    }
    const chars = e.mid.length + e.sender.length + e.target.length + e.conv.length;
    this.#room(RECORD_HEAD + ENTRY_FIXED + 3 * chars + e.body.length);
    const start = this.n, p = start + RECORD_HEAD, v = this.#view;
    v.setUint8(p, TYPE_ENTRY);
    v.setUint8(p + 1, kind);
    v.setUint8(p + 2, e.expires == null ? 0 : 1);
    v.setFloat64(p + 3, e.seq, true);
    v.setFloat64(p + 11, e.ts, true);
    v.setFloat64(p + 19, e.expires ?? 0, true);
    let at = this.#str(e.mid, p + ENTRY_FIXED, p + 27, "mid");
    at = this.#str(e.sender, at, p + 29, "sender");
    at = this.#str(e.target, at, p + 31, "target");
    at = this.#str(e.conv, at, p + 33, "conv");
    this.#buf.set(e.body, at);
    this.n = at + e.body.length;
    return this.#seal(start);
  }

  /** Writes one tombstone record naming `seqs` (at least one); its length. */
  tombstone(seqs: readonly number[]): number {
    this.#room(RECORD_HEAD + 1 + 8 * seqs.length);
    const start = this.n;
    let p = start + RECORD_HEAD;
    this.#view.setUint8(p++, TYPE_TOMBSTONE);
    for (const s of seqs) this.#view.setFloat64((p += 8) - 8, s, true);
    this.n = p;
    return this.#seal(start);
  }
}

/**
 * The bytes of the message log's segment files (segment_files.ts): a segment's header and its
 * records, encoded into one reused, growing buffer and checked and decoded from any buffer. Pure:
 * no file system. All numbers little-endian.
 *
 *   header (20 bytes)  "PRLG", u32 version (1), f64 base seq (highSeq when the segment was begun),
 *                      u32 CRC-32 of the 16 bytes before it
 *   record             u32 payload length, u32 CRC-32 of the payload, payload
 *   entry payload      u8 1, u8 kind (0 user, 1 room, 2 broadcast), u8 flags (1: expires is set),
 *                      f64 seq, f64 ts, f64 expires (0 when none), u16 byte lengths of mid, sender,
 *                      target and conv, those four as UTF-8, then the body (the rest)
 *   tombstone payload  u8 2, then f64 seqs (at least one)
 *
 * Numbers are f64 (seqs and times are safe integers, held exactly); strings are bounded by their
 * u16 length (MAX_STRING_BYTES of UTF-8), a body by MAX_BODY_BYTES: an entry beyond them is refused
 * with a RangeError before a byte of it is kept. Strings go in by a loop while ASCII, else by
 * `TextEncoder.encodeInto` (no array per string): a call of `encodeInto` cost ~0.1 µs, so four names
 * cost 0.4 µs of an entry's 0.5 µs encoding; with the loop an entry costs ~0.22 µs (260-byte
 * records, this VM). Short ASCII strings come out by a loop too (~0.08 µs against `decode`'s ~0.14).
 * CRC-32 is node:zlib's: ~0.04 ns a byte on 260 KB, ~0.05–0.13 µs for a 300-byte record, so every
 * record carries its own.
 */
import { crc32 } from "node:zlib";
import type { LogEntry, LogMeta } from "./segment_log.ts";
import type { TargetKind } from "./store.ts";

export const HEADER_BYTES = 20;
/** A record's length and CRC before its payload. */
export const RECORD_HEAD = 8;
export const TYPE_ENTRY = 1;
export const TYPE_TOMBSTONE = 2;
export const MAX_STRING_BYTES = 0xffff;
/** A body's bound: record lengths (and places) stay well inside an int32. */
export const MAX_BODY_BYTES = 1 << 30;
const MAGIC = 0x474c5250; // "PRLG"
const VERSION = 1;
/** An entry payload's fixed part: type, kind, flags, seq, ts, expires, four string lengths. */
const ENTRY_FIXED = 3 + 24 + 8;
const KINDS: readonly TargetKind[] = ["user", "room", "broadcast"];
/** The writer's buffer is kept up to this size (a batch of 1,000 typical entries is ~300 KB). */
const KEEP_BYTES = 8 << 20;

const crcOf = (b: Uint8Array): number => crc32(b) >>> 0;
const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A segment's header, beginning at `base`. */
export function encodeHeader(base: number): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES), v = viewOf(b);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, VERSION, true);
  v.setFloat64(8, base, true);
  v.setUint32(16, crcOf(b.subarray(0, 16)), true);
  return b;
}

/** The base seq a header names, or why it is not a header. */
export function decodeHeader(b: Uint8Array): number | string {
  if (b.length < HEADER_BYTES) return `header cut short (${b.length} of ${HEADER_BYTES} bytes)`;
  const v = viewOf(b);
  if (v.getUint32(0, true) !== MAGIC) return "not a segment (bad magic)";
  if (v.getUint32(16, true) !== crcOf(b.subarray(0, 16))) return "header CRC mismatch";
  if (v.getUint32(4, true) !== VERSION) return `unknown version ${v.getUint32(4, true)}`;
  const base = v.getFloat64(8, true);
  return Number.isSafeInteger(base) ? base : `bad base seq ${base}`;
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

/** A buffer of records: checks them and reads their fields (each method takes a record's offset). */
export class RecordReader {
  readonly #v: DataView;
  constructor(readonly b: Uint8Array) {
    this.#v = viewOf(b);
  }

  /** The whole record's length when it lies sound before `end` (CRC, payload parses), else why not. */
  check(off: number, end: number): number | string {
    if (end - off < RECORD_HEAD) return `record head cut short (${end - off} bytes left)`;
    const b = this.b, v = this.#v, len = v.getUint32(off, true), p = off + RECORD_HEAD;
    if (len === 0) return "empty record";
    if (len > end - p) return `record of ${len} bytes cut short (${end - p} left)`;
    if (v.getUint32(off + 4, true) !== crcOf(b.subarray(p, p + len))) return "CRC mismatch";
    if (b[p] === TYPE_TOMBSTONE) return len > 1 && (len - 1) % 8 === 0 ? RECORD_HEAD + len : "bad tombstone";
    if (b[p] !== TYPE_ENTRY) return `unknown record type ${b[p]}`;
    if (len < ENTRY_FIXED || b[p + 1]! > 2 || b[p + 2]! > 1) return "bad entry";
    const strings = v.getUint16(p + 27, true) + v.getUint16(p + 29, true) + v.getUint16(p + 31, true) +
      v.getUint16(p + 33, true);
    return ENTRY_FIXED + strings <= len ? RECORD_HEAD + len : "bad entry (strings overrun)";
  }

  /** The first unsound record before `end` (records from byte 0 on) and why, or null. */
  firstBad(end: number): { off: number; why: string } | null {
    for (let off = 0; off < end;) {
      const len = this.check(off, end);
      if (typeof len === "string") return { off, why: len };
      off += len;
    }
    return null;
  }

  /** Why the record at `off` is not a sound entry ending at `end`, or "" when it is. */
  checkEntry(off: number, end: number): string {
    const len = this.check(off, end);
    if (typeof len === "string") return len;
    if (len !== end - off) return `a record of ${len} bytes, not ${end - off}`;
    return this.type(off) === TYPE_ENTRY ? "" : "not an entry";
  }

  /** The record's type (the rest read only checked records). */
  type(off: number): number {
    return this.b[off + RECORD_HEAD]!;
  }

  /** An entry's seq. */
  seq(off: number): number {
    return this.#v.getFloat64(off + RECORD_HEAD + 3, true);
  }

  /** A tombstone's seqs. */
  tombstoneSeqs(off: number): number[] {
    const end = off + RECORD_HEAD + this.#v.getUint32(off, true), out: number[] = [];
    for (let p = off + RECORD_HEAD + 1; p < end; p += 8) out.push(this.#v.getFloat64(p, true));
    return out;
  }

  /** An entry; its body is a view into the buffer. */
  entry(off: number): LogEntry {
    const f = this.#fields(off);
    const { seq, mid, sender, kind, target, conv, ts, expires } = f;
    return { seq, mid, sender, kind, target, conv, ts, expires, body: this.b.subarray(f.at, f.end) };
  }

  /** An entry without its body. */
  meta(off: number): LogMeta {
    const f = this.#fields(off);
    const { seq, mid, sender, kind, target, conv, ts, expires } = f;
    return { seq, mid, sender, kind, target, conv, ts, expires, bodyBytes: f.end - f.at };
  }

  #fields(off: number) {
    const b = this.b, v = this.#v, p = off + RECORD_HEAD;
    let at = p + ENTRY_FIXED;
    const str = (lenAt: number) => {
      const from = at;
      at += v.getUint16(p + lenAt, true);
      return ascii(b, from, at) ?? dec.decode(b.subarray(from, at));
    };
    return {
      seq: v.getFloat64(p + 3, true),
      kind: KINDS[b[p + 1]!]!,
      ts: v.getFloat64(p + 11, true),
      expires: b[p + 2] === 1 ? v.getFloat64(p + 19, true) : null,
      mid: str(27),
      sender: str(29),
      target: str(31),
      conv: str(33),
      at,
      end: p + v.getUint32(off, true),
    };
  }
}

const dec = new TextDecoder();

/** `b[from, to)` as a string when it is short ASCII (a loop: ~40 % cheaper than `decode`), else null. */
function ascii(b: Uint8Array, from: number, to: number): string | null {
  if (to - from > 64) return null;
  let s = "";
  for (let i = from; i < to; i++) {
    if (b[i]! >= 0x80) return null;
    s += String.fromCharCode(b[i]!);
  }
  return s;
}

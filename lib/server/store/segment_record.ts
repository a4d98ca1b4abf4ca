/**
 * The bytes of the message log of versions 0.13–0.20 (read once by segment_import.ts, which moves
 * them into SQLite's table): a segment's header and its records, checked and decoded from any buffer
 * (segment_record_testing.ts writes them, for tests). Pure: no file system. All numbers little-endian.
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
export const MAGIC = 0x474c5250; // "PRLG"
export const VERSION = 1;
/** An entry payload's fixed part: type, kind, flags, seq, ts, expires, four string lengths. */
export const ENTRY_FIXED = 3 + 24 + 8;
export const KINDS: readonly TargetKind[] = ["user", "room", "broadcast"];

export const crcOf = (b: Uint8Array): number => crc32(b) >>> 0;
export const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

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

/**
 * Reads the message log of versions 0.13–0.20 (`parley.db-messages/`: segment files of records,
 * segment_record.ts) once, strictly and read-only, so that sqlite_store.ts can move its messages into
 * SQLite's table (issue 68). Nothing here writes, truncates or unlinks a file: the store deletes the
 * folder only after the rows are committed.
 *
 * Rules (what the old open got wrong, issue 68 items 1 and 2):
 * - A bad record is cut as a torn tail only when it is one: in the newest segment, and either it runs
 *   past the file's end or no sound record starts anywhere after it. Anything else refuses, naming
 *   the file, the byte, why, and the seqs around it. Every cut is reported (`Imported.cut`) for a WARN.
 * - A segment header that fails its check refuses, unless the segment is the newest and holds no
 *   more than its header (begun by a crash).
 * - `highSeq` is the highest seq the log ever named (bases, entries, tombstones): new seqs go above.
 * The only file of the store reading the old folder (node:fs, synchronous: an import runs at open).
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { decodeHeader, HEADER_BYTES, RecordReader, TYPE_ENTRY } from "./segment_record.ts";
import type { LogEntry } from "./segment_log.ts";

const SEGMENT_RE = /^\d{16}\.log$/;

/** What an import found besides the entries. */
export interface Imported {
  /** Live entries found. */
  entries: number;
  /** The highest seq the log named. */
  highSeq: number;
  /** A torn tail left out: the file, the byte it began at and how many bytes (never acknowledged). */
  cut: { file: string; at: number; bytes: number } | null;
}

interface Seg {
  path: string;
  buf: Uint8Array;
  /** Where its sound records end (the file's size unless a torn tail follows). */
  end: number;
}

/** The seqs of the entries around byte `off` of a segment (for a refusal's words). */
function around(r: RecordReader, off: number): string {
  let last = 0;
  for (let p = HEADER_BYTES; p < off;) {
    const len = r.check(p, off);
    if (typeof len === "string") break;
    if (r.type(p) === TYPE_ENTRY) last = r.seq(p);
    p += len;
  }
  return last ? `after seq ${last}` : "before any entry of this segment";
}

/** Whether a sound record starts anywhere in (`off`, `size`): then the bad one is not a torn tail. */
function soundAfter(r: RecordReader, off: number, size: number): boolean {
  for (let p = off + 1; p + 8 < size; p++) {
    if (typeof r.check(p, size) === "number") return true;
  }
  return false;
}

/** Reads and checks one segment; the records' end. Throws on damage that is not a torn tail. */
function checkSegment(path: string, buf: Uint8Array, newest: boolean): number {
  const r = new RecordReader(buf);
  for (let off = HEADER_BYTES; off < buf.length;) {
    const len = r.check(off, buf.length);
    if (typeof len === "number") {
      off += len;
      continue;
    }
    if (newest && !soundAfter(r, off, buf.length)) return off;
    throw new Error(
      `${path}: bad record at byte ${off} (${around(r, off)}): ${len}; sound records follow it, so it is ` +
        "damage, not a torn write: run `parley-server admin check`, then `admin salvage` to move on without it",
    );
  }
  return buf.length;
}

/** The folder's segments, checked, oldest first (each read whole). */
function readSegments(dir: string): { segs: Seg[]; cut: Imported["cut"]; high: number } {
  const names = fs.readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort();
  const segs: Seg[] = [];
  let cut: Imported["cut"] = null, high = 0;
  for (const [i, name] of names.entries()) {
    const path = join(dir, name), buf = fs.readFileSync(path), newest = i === names.length - 1;
    const base = decodeHeader(buf.subarray(0, Math.min(buf.length, HEADER_BYTES)));
    if (typeof base !== "number") {
      if (newest && buf.length <= HEADER_BYTES) continue; // begun by a crash, never written to
      throw new Error(`${path}: bad segment header at byte 0: ${base}`);
    }
    const end = checkSegment(path, buf, newest);
    if (end < buf.length) cut = { file: path, at: end, bytes: buf.length - end };
    high = Math.max(high, base);
    segs.push({ path, buf, end });
  }
  return { segs, cut, high };
}

/**
 * Reads the old log in `dir`: tells `entry` every live entry in seq order (its body a view, valid
 * during the call). Throws on damage (see the contract) before telling any.
 */
export function importSegmentLog(dir: string, entry: (e: LogEntry) => void): Imported {
  const { segs, cut, high: bases } = readSegments(dir);
  const killed = new Set<number>();
  let high = bases, last = 0;
  for (const s of segs) {
    const r = new RecordReader(s.buf);
    for (let off = HEADER_BYTES; off < s.end; off += r.check(off, s.end) as number) {
      if (r.type(off) !== TYPE_ENTRY) {
        for (const seq of r.tombstoneSeqs(off)) killed.add(seq), high = Math.max(high, seq);
        continue;
      }
      const seq = r.seq(off);
      if (!(seq > last)) throw new Error(`${s.path}: bad record at byte ${off}: seq ${seq} out of order`);
      last = seq;
      high = Math.max(high, seq);
    }
  }
  let entries = 0;
  for (const s of segs) {
    const r = new RecordReader(s.buf);
    for (let off = HEADER_BYTES; off < s.end; off += r.check(off, s.end) as number) {
      if (r.type(off) === TYPE_ENTRY && !killed.has(r.seq(off))) entry(r.entry(off)), entries++;
    }
  }
  return { entries, highSeq: high, cut };
}

/** Whether `dir` holds an old message log (a folder). */
export function hasSegmentLog(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Deletes the old log's folder (its rows are committed in the table). */
export function removeSegmentLog(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

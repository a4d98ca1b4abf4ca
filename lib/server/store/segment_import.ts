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
  /** The runs of sound records, [from, to) each (one run from the header to the end, unless damaged). */
  runs: [number, number][];
}

/** Damage `admin salvage` moves past: the file, where it begins, how many bytes, the seq before it. */
export interface Skipped {
  file: string;
  at: number;
  bytes: number;
  why: string;
  afterSeq: number;
}

/** The seq of the last entry before byte `off` of a segment (0: none). */
function seqBefore(r: RecordReader, off: number): number {
  let last = 0;
  for (let p = HEADER_BYTES; p < off;) {
    const len = r.check(p, off);
    if (typeof len === "string") break;
    if (r.type(p) === TYPE_ENTRY) last = r.seq(p);
    p += len;
  }
  return last;
}

/** Where the next sound record starts in (`off`, `size`), or -1: none (then the bad one is a torn tail). */
function nextSound(r: RecordReader, off: number, size: number): number {
  for (let p = off + 1; p + 8 < size; p++) {
    if (typeof r.check(p, size) === "number") return p;
  }
  return -1;
}

/**
 * Checks one segment; its runs of sound records. A bad record throws (damage) unless it is a torn
 * tail of the newest segment (the run ends there) or `skip` is given (salvage: told, and passed).
 */
function checkSegment(path: string, buf: Uint8Array, newest: boolean, skip?: (s: Skipped) => void) {
  const r = new RecordReader(buf), runs: [number, number][] = [];
  let from = HEADER_BYTES;
  for (let off = HEADER_BYTES; off < buf.length;) {
    const len = r.check(off, buf.length);
    if (typeof len === "number") {
      off += len;
      continue;
    }
    runs.push([from, off]);
    const next = nextSound(r, off, buf.length);
    if (next < 0 && newest) return { runs, cut: off };
    const afterSeq = seqBefore(r, off);
    if (!skip) {
      throw new Error(
        `${path}: bad record at byte ${off} (${
          afterSeq ? `after seq ${afterSeq}` : "before any entry of this segment"
        }): ${len}` +
          (next < 0 ? "" : "; sound records follow it, so it is damage, not a torn write") +
          ": run `parley-server admin check`, then `admin salvage` to move on without it",
      );
    }
    const end = next < 0 ? buf.length : next;
    skip({ file: path, at: off, bytes: end - off, why: len, afterSeq });
    from = off = end;
  }
  runs.push([from, buf.length]);
  return { runs, cut: -1 };
}

/** The folder's segments, checked, oldest first (each read whole). */
function readSegments(dir: string, skip?: (s: Skipped) => void) {
  const names = fs.readdirSync(dir).filter((n) => SEGMENT_RE.test(n)).sort();
  const segs: Seg[] = [];
  let cut: Imported["cut"] = null, high = 0;
  for (const [i, name] of names.entries()) {
    const path = join(dir, name), buf = fs.readFileSync(path), newest = i === names.length - 1;
    const base = decodeHeader(buf.subarray(0, Math.min(buf.length, HEADER_BYTES)));
    if (typeof base !== "number") {
      if (newest && buf.length <= HEADER_BYTES) continue; // begun by a crash, never written to
      if (!skip) throw new Error(`${path}: bad segment header at byte 0: ${base}`);
      skip({ file: path, at: 0, bytes: buf.length, why: `bad segment header: ${base}`, afterSeq: high });
      continue;
    }
    const c = checkSegment(path, buf, newest, skip);
    if (c.cut >= 0) cut = { file: path, at: c.cut, bytes: buf.length - c.cut };
    high = Math.max(high, base);
    segs.push({ path, buf, runs: c.runs });
  }
  return { segs, cut, high };
}

/** Every sound record of `s`: its reader and offset. */
function* records(s: Seg): Generator<[RecordReader, number]> {
  const r = new RecordReader(s.buf);
  for (const [from, to] of s.runs) {
    for (let off = from; off < to; off += r.check(off, to) as number) yield [r, off];
  }
}

/**
 * Reads the old log in `dir`: tells `entry` every live entry in seq order (its body a view, valid
 * during the call). Throws on damage (see the contract) before telling any — unless `skip` is given
 * (`admin salvage`): then each damaged span is told to it and passed over.
 */
export function importSegmentLog(
  dir: string,
  entry: (e: LogEntry) => void,
  skip?: (s: Skipped) => void,
): Imported {
  const { segs, cut, high: bases } = readSegments(dir, skip);
  const killed = new Set<number>();
  let high = bases, last = 0;
  for (const s of segs) {
    for (const [r, off] of records(s)) {
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
    for (const [r, off] of records(s)) {
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

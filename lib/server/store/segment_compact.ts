/**
 * Compaction of one closed segment of segment_files.ts (never the active one): a segment with
 * nothing live and no tombstone still needed is deleted; one of which more than half the bytes are
 * dead is rewritten with its live records and needed tombstones only — `<name>.tmp` written,
 * fsynced, renamed over the segment and the folder fsynced —, and each live entry's new place told
 * to `moved`. Asynchronous (the event loop goes on: appends run beside it, on the active segment).
 * Touches the file system (with segment_files.ts, the log's only files that do).
 */
import * as fs from "node:fs";
import type { LogPlace } from "./segment_log.ts";
import type { Seg, SegmentBook } from "./segment_book.ts";
import * as rec from "./segment_record.ts";

/** Compaction copies live records in runs of at most this many bytes (or one bigger record). */
const COPY_CHUNK = 1 << 20;

const call = <T = void>(f: (done: (e: Error | null, v?: T) => void) => void) =>
  new Promise<T>((ok, no) => f((e, v) => e ? no(e) : ok(v as T)));
const fsync = (fd: number) => call((d) => fs.fsync(fd, d));
const openAsync = (path: string, flags: string) => call<number>((d) => fs.open(path, flags, 0o600, d));

/** Writes (`write`) or reads all of `b` at byte `at` of `fd`, async. */
async function transfer(op: "write" | "read", fd: number, b: Uint8Array, at: number): Promise<void> {
  const f = (op === "write" ? fs.write : fs.read) as typeof fs.read; // the same signature
  for (let done = 0; done < b.length;) {
    const n = await call<number>((d) => f(fd, b, done, b.length - done, at + done, d));
    if (n <= 0) throw new Error(`${op} of ${b.length} bytes stopped at ${done}`);
    done += n;
  }
}

/** Deletes or rewrites the closed segment `seg` of `book` (in the folder open as `dirFd`) when it is worth it. */
export async function compactSegment(
  book: SegmentBook,
  seg: Seg,
  dirFd: number,
  moved: (seq: number, to: LogPlace) => void,
): Promise<void> {
  if (seg.live === 0 && seg.needed.size === 0) {
    await call((d) => fs.unlink(seg.path, d));
    await fsync(dirFd);
    book.dropped(seg);
    fs.closeSync(seg.fd);
  } else if (seg.dead * 2 > seg.bytes) {
    await rewrite(book, seg, dirFd, moved);
  }
}

/** Rewrites `seg` with its live entries and needed tombstones only. */
async function rewrite(
  book: SegmentBook,
  seg: Seg,
  dirFd: number,
  moved: (seq: number, to: LogPlace) => void,
): Promise<void> {
  const tmp = `${seg.path}.tmp`, fd = await openAsync(tmp, "w+");
  try {
    const keep: number[] = [], gone: number[] = [];
    for (let i = 0; i < seg.count; i++) (seg.killer[i] === 0 ? keep : gone).push(i);
    const { runs, offs } = book.runs(seg, keep, COPY_CHUNK, rec.HEADER_BYTES);
    await transfer("write", fd, rec.encodeHeader(seg.base), 0);
    let pos = rec.HEADER_BYTES, chunk = new Uint8Array(COPY_CHUNK);
    for (const { from, n } of runs) { // adjacent records: one read, one write
      if (n > chunk.length) chunk = new Uint8Array(n);
      const run = chunk.subarray(0, n);
      await transfer("read", seg.fd, run, from);
      const bad = new rec.RecordReader(run).firstBad(n);
      if (bad) throw new Error(`${seg.path}: bad record at byte ${from + bad.off}: ${bad.why}`);
      await transfer("write", fd, run, pos);
      pos += n;
    }
    if (seg.needed.size > 0) {
      const w = new rec.RecordWriter();
      w.tombstone([...seg.needed]);
      await transfer("write", fd, w.bytes, pos);
      pos += w.n;
    }
    await fsync(fd);
    await call((d) => fs.rename(tmp, seg.path, d));
    await fsync(dirFd);
    fs.closeSync(book.rewritten(seg, keep, gone, offs, fd, pos));
    for (let i = 0; i < seg.count; i++) {
      if (seg.killer[i] === 0) moved(seg.seqs[i]!, { seg: seg.num, off: seg.offs[i]!, len: seg.lens[i]! });
    }
  } catch (e) {
    if (seg.fd !== fd) fs.closeSync(fd);
    throw e;
  }
}

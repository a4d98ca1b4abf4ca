/**
 * The bookkeeping of the message log's segments (segment_files.ts): for each segment its base seq,
 * size, dead bytes, the entries physically in it (seq order: seq, offset, length, and who killed
 * it) and its needed tombstones, so removals, `stats` and compaction decide without reading a
 * file. Pure: no file system (the fd and path are only carried; `scan` reads a buffer).
 *
 * Rules: a segment's entries have seqs above its base and at most the next segment's base, so the
 * segment of a seq is a binary search over bases, then one over its seqs (20 bytes an entry in
 * typed columns grown by doubling: no object per entry, nothing for the collector to walk). A
 * tombstone is needed while the entry it kills is still in an earlier segment; once that entry
 * leaves the disk (its segment rewritten or deleted) the tombstone counts as dead. Dead bytes: a
 * dead entry's whole record, 8 bytes per tombstoned seq not needed (a tombstone record's own 9
 * bytes of head are not counted).
 */
import type { LogMeta, LogPlace, LogStats } from "./segment_log.ts";
import { HEADER_BYTES, type RecordReader, TYPE_ENTRY } from "./segment_record.ts";

export interface Seg {
  num: number;
  base: number;
  path: string;
  fd: number;
  bytes: number;
  dead: number;
  live: number;
  /** How many entries are physically here (live or dead): the first `count` of each column below. */
  count: number;
  /** The entries, in seq order, with their places. */
  seqs: Float64Array;
  offs: Int32Array;
  lens: Int32Array;
  /** 0 while the entry lives, else the number of the segment holding its tombstone. */
  killer: Int32Array;
  /** Seqs tombstoned here whose entry is still in an earlier segment: the tombstones to keep. */
  needed: Set<number>;
}

/** A new segment's room for entries in each column (doubled as it fills). */
const FIRST_ROOM = 64;

/** Gives `seg`'s columns room for `cap` entries, keeping the first `count`. */
function grow(seg: Seg, cap: number): void {
  const seqs = new Float64Array(cap), offs = new Int32Array(cap), lens = new Int32Array(cap);
  const killer = new Int32Array(cap), n = seg.count;
  seqs.set(seg.seqs.subarray(0, n));
  offs.set(seg.offs.subarray(0, n));
  lens.set(seg.lens.subarray(0, n));
  killer.set(seg.killer.subarray(0, n));
  seg.seqs = seqs;
  seg.offs = offs;
  seg.lens = lens;
  seg.killer = killer;
}

export class SegmentBook {
  /** In number order; the last is the one appended to. */
  readonly segs: Seg[] = [];
  readonly #byNum = new Map<number, Seg>();
  /** The highest seq or base booked (an entry booked must be above it). */
  high = 0;

  add(num: number, base: number, path: string, fd: number, bytes: number): Seg {
    const seg: Seg = {
      num,
      base,
      path,
      fd,
      bytes,
      dead: 0,
      live: 0,
      count: 0,
      seqs: new Float64Array(FIRST_ROOM),
      offs: new Int32Array(FIRST_ROOM),
      lens: new Int32Array(FIRST_ROOM),
      killer: new Int32Array(FIRST_ROOM),
      needed: new Set(),
    };
    this.segs.push(seg);
    this.#byNum.set(num, seg);
    return seg;
  }

  get(num: number): Seg | undefined {
    return this.#byNum.get(num);
  }

  /**
   * Books the records of `seg` (read by `r`) as `open` finds them; where its sound records end. A bad
   * record ends the newest segment (a torn append: the caller cuts the file there); anywhere else it
   * throws, naming the file and byte.
   */
  scan(seg: Seg, r: RecordReader, newest: boolean): number {
    this.high = Math.max(this.high, seg.base);
    for (let off = HEADER_BYTES; off < seg.bytes;) {
      const len = r.check(off, seg.bytes);
      if (typeof len === "string" && newest) return off;
      if (typeof len === "string") throw new Error(`${seg.path}: bad record at byte ${off}: ${len}`);
      if (r.type(off) === TYPE_ENTRY) {
        const seq = r.seq(off);
        if (!(seq > this.high)) {
          throw new Error(`${seg.path}: bad record at byte ${off}: seq ${seq} out of order`);
        }
        this.placed(seg, this.high = seq, off, len);
      } else {
        for (const s of r.tombstoneSeqs(off)) this.kill(s, seg);
      }
      off += len;
    }
    return seg.bytes;
  }

  /** Tells `found` the live entries of `seg` (read by `r`) in seq order, with their places. */
  report(seg: Seg, r: RecordReader, found: (meta: LogMeta, place: LogPlace) => void): void {
    for (let i = 0; i < seg.count; i++) {
      const off = seg.offs[i]!;
      if (seg.killer[i] === 0) found(r.meta(off), { seg: seg.num, off, len: seg.lens[i]! });
    }
  }

  /** Books a live entry at the end of `seg`. */
  placed(seg: Seg, seq: number, off: number, len: number): void {
    const i = seg.count;
    if (i === seg.seqs.length) grow(seg, Math.max(FIRST_ROOM, 2 * i)); // (a rewrite may leave none)
    seg.seqs[i] = seq;
    seg.offs[i] = off;
    seg.lens[i] = len;
    seg.killer[i] = 0;
    seg.count = i + 1;
    seg.live++;
  }

  /** The segment and index holding the entry `seq` (live or dead), if one does. */
  find(seq: number): { seg: Seg; i: number } | null {
    let lo = 0, hi = this.segs.length - 1; // the last segment whose base is below seq
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segs[mid]!.base < seq) lo = mid;
      else hi = mid - 1;
    }
    const seg = this.segs[lo];
    if (!seg || !(seg.base < seq)) return null;
    let a = 0, b = seg.count - 1;
    while (a <= b) {
      const m = (a + b) >> 1, s = seg.seqs[m]!;
      if (s === seq) return { seg, i: m };
      if (s < seq) a = m + 1;
      else b = m - 1;
    }
    return null;
  }

  isLive(seq: number): boolean {
    const at = this.find(seq);
    return at !== null && at.seg.killer[at.i] === 0;
  }

  /** Books a tombstone of `seq` in segment `t`. */
  kill(seq: number, t: Seg): void {
    const at = this.find(seq);
    if (!at || at.seg.killer[at.i] !== 0) {
      t.dead += 8; // nothing left to kill: a tombstone nobody needs
      return;
    }
    const e = at.seg;
    e.killer[at.i] = t.num;
    e.live--;
    e.dead += e.lens[at.i]!;
    if (e === t) t.dead += 8;
    else t.needed.add(seq);
  }

  /** The dead entries at `idx` of `seg` left the disk: their tombstones are needed no more. */
  #gone(seg: Seg, idx: readonly number[]): void {
    for (const i of idx) {
      const t = this.#byNum.get(seg.killer[i]!);
      if (t !== seg && t?.needed.delete(seg.seqs[i]!)) t.dead += 8;
    }
  }

  /** `seg` was deleted from the disk. */
  dropped(seg: Seg): void {
    this.#gone(seg, Array.from({ length: seg.count }, (_, i) => i));
    this.segs.splice(this.segs.indexOf(seg), 1);
    this.#byNum.delete(seg.num);
  }

  /**
   * `seg` was rewritten into file `fd` of `bytes` bytes: the entries at `keep` (live when the copy
   * began; some may have died since) at `offs`, those at `gone` left. Returns the old fd.
   */
  rewritten(seg: Seg, keep: number[], gone: number[], offs: number[], fd: number, bytes: number): number {
    this.#gone(seg, gone);
    const old = seg.fd;
    seg.dead = 0;
    seg.live = 0;
    for (const i of keep) seg.killer[i] === 0 ? seg.live++ : seg.dead += seg.lens[i]!;
    seg.seqs = Float64Array.from(keep, (i) => seg.seqs[i]!);
    seg.lens = Int32Array.from(keep, (i) => seg.lens[i]!);
    seg.killer = Int32Array.from(keep, (i) => seg.killer[i]!);
    seg.offs = Int32Array.from(offs);
    seg.count = keep.length;
    seg.fd = fd;
    seg.bytes = bytes;
    return old;
  }

  /**
   * The entries of `seg` at `keep` as runs of adjacent records to copy (each at most `max` bytes, or
   * one record), and each entry's offset in the copy, which begins at byte `at`.
   */
  runs(seg: Seg, keep: readonly number[], max: number, at: number): {
    runs: { from: number; n: number }[];
    offs: number[];
  } {
    const runs: { from: number; n: number }[] = [], offs: number[] = [];
    let last: { from: number; n: number } | undefined;
    for (const i of keep) {
      const off = seg.offs[i]!, len = seg.lens[i]!;
      if (last && last.from + last.n === off && last.n + len <= max) last.n += len;
      else runs.push(last = { from: off, n: len });
      offs.push(at);
      at += len;
    }
    return { runs, offs };
  }

  stats(): LogStats {
    let bytes = 0, deadBytes = 0;
    for (const s of this.segs) {
      bytes += s.bytes;
      deadBytes += s.dead;
    }
    return { segments: this.segs.length, bytes, deadBytes };
  }
}

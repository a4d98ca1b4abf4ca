/**
 * One list of message_index.ts: entries in increasing seq order, each a seq, `floats - 1` more
 * doubles and `ints` 32-bit integers, kept interleaved in two typed arrays (no object per entry).
 * The first integer of a live entry is never negative: a removed entry keeps its seq (the binary
 * searches still work) and is marked DEAD; once the dead outnumber the living the list is compacted
 * (and shrunk), so a walk reads at most about twice the live entries and a removal costs O(log n)
 * amortised wherever it is. Removing the newest entries gives their room back at once, so a seq
 * handed out again after a rolled-back transaction is still the newest. Pure.
 */

/** The first integer of a removed entry. */
export const DEAD = -1;

/** Dead entries a list keeps before it compacts (below this, a walk's waste is negligible). */
const COMPACT_AFTER = 16;

export class SeqList {
  #f: Float64Array;
  #i: Int32Array;
  #cap: number;
  /** Entries held, live and dead. */
  end = 0;
  /** Dead entries among them. */
  dead = 0;

  constructor(readonly floats: number, readonly ints: number, cap = 4) {
    this.#cap = cap;
    [this.#f, this.#i] = this.#arrays(cap);
  }

  /** The two arrays for `cap` entries, over one buffer (a buffer's fixed cost is paid once per list). */
  #arrays(cap: number): [Float64Array, Int32Array] {
    const buf = new ArrayBuffer(cap * (8 * this.floats + 4 * this.ints));
    return [
      new Float64Array(buf, 0, cap * this.floats),
      new Int32Array(buf, 8 * cap * this.floats, cap * this.ints),
    ];
  }

  get live(): number {
    return this.end - this.dead;
  }
  seq(k: number): number {
    return this.#f[k * this.floats]!;
  }
  /** The entry's `j`th double after its seq. */
  float(k: number, j: number): number {
    return this.#f[k * this.floats + j]!;
  }
  int(k: number, j: number): number {
    return this.#i[k * this.ints + j]!;
  }
  /** Sets the live entry's `j`th integer (never the first to DEAD: `kill` removes). */
  setInt(k: number, j: number, v: number): void {
    if (j === 0 && v < 0) throw new Error(`SeqList: first int ${v}`);
    this.#i[k * this.ints + j] = v;
  }

  /** Appends an entry whose seq is above every held one (`x`: the second double; a, b, c, d: the ints). */
  push(seq: number, x: number, a: number, b = 0, c = 0, d = 0): void {
    const f = this.end * this.floats, i = this.end * this.ints;
    if ((this.end > 0 && seq <= this.#f[f - this.floats]!) || a < 0) {
      throw new Error(`SeqList: seq ${seq} after ${this.seq(this.end - 1)}, first int ${a}`);
    }
    if (this.end === this.#cap) this.#resize(this.#cap < 4096 ? this.#cap * 2 : Math.ceil(this.#cap * 1.5));
    this.#f[f] = seq;
    if (this.floats > 1) this.#f[f + 1] = x;
    this.#i[i] = a;
    if (this.ints > 1) this.#i[i + 1] = b;
    if (this.ints > 2) this.#i[i + 2] = c;
    if (this.ints > 3) this.#i[i + 3] = d;
    this.end++;
  }

  /** The index of the first entry with a seq above `seq` (`end` when none is). */
  after(seq: number): number {
    let lo = 0, hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seq(mid) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the live entry of `seq`, or -1. */
  find(seq: number): number {
    const k = this.after(seq) - 1;
    return k >= 0 && this.seq(k) === seq && this.int(k, 0) !== DEAD ? k : -1;
  }

  /**
   * The live entries among the first `end` and the sum of their `j`th integers (none summed when `j`
   * is -1). A list with no dead entry (a store that deletes nothing) is not walked to count; the walk
   * reads the integers straight from the array (a move of the keys into the table walks every list:
   * through `int`, in code the optimising compiler had not reached yet, it was the move's largest part).
   */
  liveBelow(end: number, j: number): { live: number; sum: number } {
    const ints = this.#i, w = this.ints;
    let live = 0, sum = 0;
    if (this.dead === 0 && j < 0) return { live: end, sum };
    for (let at = 0, stop = end * w; at < stop; at += w) {
      if (ints[at] === DEAD) continue;
      live++;
      if (j >= 0) sum += ints[at + j]!;
    }
    return { live, sum };
  }

  /**
   * The live entries with seq ≤ `seq` as one chunk's bytes (table_messages.ts keeps chunks in the
   * table: their doubles, then their ints), and its first and last seq; null when none is. The list
   * is not changed (`dropThrough` takes them out).
   */
  chunkThrough(seq: number): { first: number; last: number; data: Uint8Array } | null {
    const end = this.after(seq), n = this.liveBelow(end, -1).live;
    if (n === 0) return null;
    if (n === end) { // no dead entry among them (the usual case): two copies
      const fb = n * this.floats * 8, data = new Uint8Array(fb + n * this.ints * 4);
      data.set(new Uint8Array(this.#f.buffer, this.#f.byteOffset, fb));
      data.set(new Uint8Array(this.#i.buffer, this.#i.byteOffset, n * this.ints * 4), fb);
      return { first: this.seq(0), last: this.seq(n - 1), data };
    }
    const out = new SeqList(this.floats, this.ints, n);
    for (let k = 0; k < end; k++) {
      if (this.int(k, 0) === DEAD) continue;
      const f = out.end * this.floats, i = out.end * this.ints;
      for (let j = 0; j < this.floats; j++) out.#f[f + j] = this.#f[k * this.floats + j]!;
      for (let j = 0; j < this.ints; j++) out.#i[i + j] = this.#i[k * this.ints + j]!;
      out.end++;
    }
    return { first: out.seq(0), last: out.seq(n - 1), data: out.bytes() };
  }

  /** Takes the entries with seq ≤ `seq` out; the rest move to the front (the room shrunk as a compaction would). */
  dropThrough(seq: number): void {
    const end = this.after(seq);
    if (end === 0) return;
    this.dead -= end - this.liveBelow(end, -1).live;
    this.#f.copyWithin(0, end * this.floats, this.end * this.floats);
    this.#i.copyWithin(0, end * this.ints, this.end * this.ints);
    this.end -= end;
    if (this.#cap > 3 * this.end + 8) this.#resize(Math.ceil(this.end * 1.5) + 4);
  }

  /** The entries' bytes (a chunk: `ofBytes` reads it back). */
  bytes(): Uint8Array {
    const f = new Uint8Array(this.#f.buffer, this.#f.byteOffset, this.end * this.floats * 8);
    const i = new Uint8Array(this.#i.buffer, this.#i.byteOffset, this.end * this.ints * 4);
    const out = new Uint8Array(f.length + i.length);
    out.set(f);
    out.set(i, f.length);
    return out;
  }

  /** A list of a chunk's entries (`bytes`' answer), to walk or change. */
  static ofBytes(data: Uint8Array, floats: number, ints: number): SeqList {
    const n = data.length / (8 * floats + 4 * ints);
    if (!Number.isInteger(n)) throw new Error(`SeqList: a chunk of ${data.length} bytes`);
    const l = new SeqList(floats, ints, Math.max(1, n));
    const copy = data.slice(); // aligned
    l.#f.set(new Float64Array(copy.buffer, 0, n * floats));
    l.#i.set(new Int32Array(copy.buffer, n * floats * 8, n * ints));
    l.end = n;
    for (let k = 0; k < n; k++) if (l.int(k, 0) === DEAD) l.dead++;
    return l;
  }

  /** Marks the live entry at `k` removed, keeping it in place (a chunk's entry: the chunk's bytes stay its size). */
  mark(k: number): void {
    this.#i[k * this.ints] = DEAD;
    this.dead++;
  }

  /** Removes the live entry at `k` (indexes of the others may change: a compaction). */
  kill(k: number): void {
    this.#i[k * this.ints] = DEAD;
    this.dead++;
    // The newest entries gone (a rollback, a note just swept): their room is given back now.
    while (this.end > 0 && this.int(this.end - 1, 0) === DEAD) {
      this.end--;
      this.dead--;
    }
    if (this.dead > COMPACT_AFTER && this.dead * 2 > this.end) this.#compact();
  }

  #compact(): void {
    let w = 0;
    for (let k = 0; k < this.end; k++) {
      if (this.int(k, 0) === DEAD) continue;
      if (w !== k) {
        for (let j = 0; j < this.floats; j++) this.#f[w * this.floats + j] = this.#f[k * this.floats + j]!;
        for (let j = 0; j < this.ints; j++) this.#i[w * this.ints + j] = this.#i[k * this.ints + j]!;
      }
      w++;
    }
    this.end = w;
    this.dead = 0;
    if (this.#cap > 3 * w + 8) this.#resize(Math.ceil(w * 1.5) + 4);
  }

  #resize(cap: number): void {
    const [f, i] = this.#arrays(cap);
    f.set(this.#f.subarray(0, this.end * this.floats));
    i.set(this.#i.subarray(0, this.end * this.ints));
    this.#f = f;
    this.#i = i;
    this.#cap = cap;
  }
}

/**
 * The resend window of the embedded store (issue 37): each sender's newest stored messages, so that a
 * resend (same sender and mid, after a lost reply) is found without a UNIQUE index over all history.
 * A window holds no mid, only each message's seq and the mid's 30-bit hash: on a hash it holds, the
 * mid is read back by seq (`midOf`: the store's row, or a row of a batch being written) and compared.
 * That is a resend, or — about once in two million new mids of a full window — another mid with the
 * same hash. (The mids themselves, ~1M strings at the most, lived long enough to be copied into the
 * old generation and were then let go there: ~40 bytes of work for the collector per message, and up
 * to ~50 MB held.) A sender's window is read from the store (its newest `perSender` seqs and hashes)
 * the first time it is needed, then kept up to date by `claim`; at most `senders` windows are held
 * (the least recently used is forgotten, and read again when needed). Pure: the store reads.
 */
import { LruMap } from "../../common/lru.ts";

/** Messages kept per sender: twice the sends one connection may have unanswered (SEND_WINDOW, 256). */
export const RESEND_WINDOW = 512;
/**
 * Senders whose windows are held at once: 2,048 full windows take ~23 MB, in typed arrays the
 * collector does not scan (61.6 MB of heap and 8.4 MB of buffers while they held the mids).
 */
export const WINDOW_SENDERS = 2048;

/**
 * One sender's window: its messages' mid hashes and seqs in a ring (oldest at `head` once full; the
 * arrays grow to `perSender` as it fills), and the held hashes again in `table`, an open-addressed
 * multiset (each hash + 1 in a slot, 0 empty; linear probing from the hash's low bits; at most half
 * full). A lookup reads a few small integers next to each other; only a hash held sends it to the
 * ring and `midOf`.
 */
interface Window {
  readonly table: Int32Array;
  hashes: Int32Array;
  seqs: Float64Array;
  /** Entries held (the ring is full once it is `perSender`). */
  n: number;
  head: number;
}

/** A table of 2^k slots, at least twice `n`. */
function tableFor(n: number): Int32Array {
  let size = 4;
  while (size < 2 * n) size *= 2;
  return new Int32Array(size);
}

/** True when `h` is held in `t`. */
function holds(t: Int32Array, h: number): boolean {
  const mask = t.length - 1;
  for (let i = h & mask; t[i] !== 0; i = (i + 1) & mask) if (t[i] === h + 1) return true;
  return false;
}

/** Adds one `h` to `t` (a hash held twice takes two slots). */
function add(t: Int32Array, h: number): void {
  const mask = t.length - 1;
  let i = h & mask;
  while (t[i] !== 0) i = (i + 1) & mask;
  t[i] = h + 1;
}

/** Takes one `h` (held) out of `t`, moving back the entries after it that probed past its slot. */
function remove(t: Int32Array, h: number): void {
  const mask = t.length - 1;
  let i = h & mask;
  while (t[i] !== h + 1) i = (i + 1) & mask;
  for (let j = (i + 1) & mask; t[j] !== 0; j = (j + 1) & mask) {
    const home = (t[j]! - 1) & mask;
    // the entry at j stays when its home is cyclically in (i, j]: a lookup from there still reaches it
    if (i < j ? i < home && home <= j : i < home || home <= j) continue;
    t[i] = t[j]!;
    i = j;
  }
  t[i] = 0;
}

/** A 30-bit hash of a mid (FNV-1a of its UTF-16 units): a small integer, kept unboxed. */
export function midHash(mid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < mid.length; i++) h = Math.imul(h ^ mid.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

export class RecentMids {
  readonly #windows: LruMap<string, Window>;

  /**
   * `load(sender, n)`: the seqs of the sender's newest `n` stored messages and their mids' hashes,
   * oldest first; `midOf(seq)`: the mid of a message stored or being stored (undefined when gone).
   */
  constructor(
    readonly load: (sender: string, n: number) => { seqs: readonly number[]; hashes: readonly number[] },
    readonly midOf: (seq: number) => string | undefined,
    readonly perSender = RESEND_WINDOW,
    senders = WINDOW_SENDERS,
  ) {
    this.#windows = new LruMap(senders);
  }

  #of(sender: string): Window {
    let w = this.#windows.get(sender);
    if (!w) {
      const { seqs, hashes } = this.load(sender, this.perSender);
      const n = Math.min(seqs.length, this.perSender), from = seqs.length - n;
      const cap = Math.min(this.perSender, Math.max(16, n * 2));
      w = {
        table: tableFor(this.perSender),
        hashes: new Int32Array(cap),
        seqs: new Float64Array(cap),
        n,
        head: 0,
      };
      for (let k = 0; k < n; k++) {
        w.hashes[k] = hashes[from + k]!;
        w.seqs[k] = seqs[from + k]!;
        add(w.table, hashes[from + k]!);
      }
      this.#windows.set(sender, w);
    }
    return w;
  }

  /** Whether the window holds a message of `mid` (its hash `h`): each entry of that hash, its mid read back. */
  #holds(w: Window, mid: string, h: number): boolean {
    if (!holds(w.table, h)) return false;
    for (let k = 0; k < w.n; k++) if (w.hashes[k] === h && this.midOf(w.seqs[k]!) === mid) return true;
    return false;
  }

  /**
   * True when `mid` is not among `sender`'s newest stored messages: then it is recorded as the
   * newest, under `seq` (the caller stores it so; the sender's oldest message leaves a full window).
   * False for a resend. `h`: the mid's hash, when the caller has it already.
   */
  claim(sender: string, mid: string, seq: number, h = midHash(mid)): boolean {
    const w = this.#of(sender);
    if (this.#holds(w, mid, h)) return false;
    add(w.table, h);
    if (w.n < this.perSender) {
      if (w.n === w.hashes.length) this.#grow(w);
      w.hashes[w.n] = h;
      w.seqs[w.n++] = seq;
      return true;
    }
    remove(w.table, w.hashes[w.head]!);
    w.hashes[w.head] = h;
    w.seqs[w.head] = seq;
    w.head = (w.head + 1) % this.perSender;
    return true;
  }

  /** Twice the room, to `perSender` (a window fills from its start: no wrap to mind). */
  #grow(w: Window): void {
    const cap = Math.min(this.perSender, w.hashes.length * 2);
    const hashes = new Int32Array(cap), seqs = new Float64Array(cap);
    hashes.set(w.hashes);
    seqs.set(w.seqs);
    w.hashes = hashes;
    w.seqs = seqs;
  }

  /** Forgets every window (rows were deleted, or a write failed): each is read again when needed. */
  clear(): void {
    this.#windows.clear();
  }
}

/**
 * The resend window of the SQLite store (issue 37): the mids of each sender's newest stored
 * messages, so that a resend (same sender and mid, after a lost reply) is found without a UNIQUE
 * index over all history. A sender's window is read from the store (its newest `perSender` mids)
 * the first time it is needed, then kept up to date by `claim`; at most `senders` windows are held
 * (the least recently used is forgotten, and read again when needed). Pure: the store reads.
 */
import { LruMap } from "../../common/lru.ts";

/** Mids kept per sender: twice the sends one connection may have unanswered (SEND_WINDOW, 256). */
export const RESEND_WINDOW = 512;
/** Senders whose windows are held at once (at most ~1M mids in memory, ~70 MB; a few KB per active sender). */
export const WINDOW_SENDERS = 2048;

/**
 * One sender's window: its mids in a ring (oldest at `head` once full), their hashes at the same
 * places, and the held hashes again in `table`, an open-addressed multiset (each hash + 1 in a slot,
 * 0 empty; linear probing from the hash's low bits; at most half full). A lookup reads a few small
 * integers next to each other (no string of the window is read unless the hash is held: a resend,
 * or — about once in two million new mids of a full window — another mid with the same hash, told
 * apart by comparing the held mids). (A Map of hash → count, before, cost ~0.1 µs more per claim.)
 */
interface Window {
  readonly table: Int32Array;
  readonly mids: string[];
  readonly hashes: number[];
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

  /** `load(sender, n)`: the sender's newest `n` stored mids, oldest first. */
  constructor(
    readonly load: (sender: string, n: number) => string[],
    readonly perSender = RESEND_WINDOW,
    senders = WINDOW_SENDERS,
  ) {
    this.#windows = new LruMap(senders);
  }

  #of(sender: string): Window {
    let w = this.#windows.get(sender);
    if (!w) {
      const mids = [...new Set(this.load(sender, this.perSender))]; // a mid stored twice is held once
      const hashes = mids.map(midHash);
      const table = tableFor(this.perSender);
      for (const h of hashes) add(table, h);
      this.#windows.set(sender, w = { table, mids, hashes, head: 0 });
    }
    return w;
  }

  /**
   * True when `mid` is not among `sender`'s newest stored messages: then it is recorded as the
   * newest (the caller stores it; the sender's oldest mid leaves a full window). False for a resend.
   * (A Set of the mids themselves read two strings scattered in memory per claim — the new mid's
   * neighbours in the table and the oldest mid on its way out —: ~1.3 µs of a DM's CPU on the
   * server, in cache misses.) `h`: the mid's hash, when the caller has it already.
   */
  claim(sender: string, mid: string, h = midHash(mid)): boolean {
    const w = this.#of(sender);
    if (holds(w.table, h) && w.mids.includes(mid)) return false;
    add(w.table, h);
    if (w.mids.length < this.perSender) {
      w.mids.push(mid);
      w.hashes.push(h);
      return true;
    }
    remove(w.table, w.hashes[w.head]!);
    w.mids[w.head] = mid;
    w.hashes[w.head] = h;
    w.head = (w.head + 1) % this.perSender;
    return true;
  }

  /** Forgets every window (rows were deleted, or a write failed): each is read again when needed. */
  clear(): void {
    this.#windows.clear();
  }
}

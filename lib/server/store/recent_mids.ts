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

/** One sender's window: its mids for lookup, and the same mids in a ring, oldest at `head` once full. */
interface Window {
  readonly has: Set<string>;
  readonly ring: string[];
  head: number;
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
      const has = new Set(this.load(sender, this.perSender)); // a mid stored twice is held once
      this.#windows.set(sender, w = { has, ring: [...has], head: 0 });
    }
    return w;
  }

  /**
   * True when `mid` is not among `sender`'s newest stored messages: then it is recorded as the
   * newest (the caller stores it; the sender's oldest mid leaves a full window). False for a resend.
   * The oldest is found in the ring, not as the Set's first entry: a Set whose first entries are
   * deleted one by one makes each lookup of its first entry step over the deleted ones (2–3× the
   * cost of a claim in a micro-bench of 200 senders).
   */
  claim(sender: string, mid: string): boolean {
    const w = this.#of(sender);
    if (w.has.has(mid)) return false;
    w.has.add(mid);
    if (w.ring.length < this.perSender) w.ring.push(mid);
    else {
      w.has.delete(w.ring[w.head]!);
      w.ring[w.head] = mid;
      w.head = (w.head + 1) % this.perSender;
    }
    return true;
  }

  /** Forgets every window (rows were deleted, or a write failed): each is read again when needed. */
  clear(): void {
    this.#windows.clear();
  }
}

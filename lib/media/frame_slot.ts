/**
 * LatestSlot — a small mailbox between a producer and a slow consumer. `offer()` never waits: it
 * holds up to `depth` values (default 1) and, when full, drops the oldest undelivered one (counted
 * in `dropped`), so a slow consumer gets fewer values, never a growing queue. A depth above 1 is a
 * jitter buffer: a consumer that keeps up on average but stalls now and then (a terminal busy
 * parsing a big frame) catches up instead of losing frames, at most depth − 1 values behind.
 * `take()` returns the oldest held value or waits for the next one; after `close()` it returns
 * null once the slot is empty.
 */

export class LatestSlot<T> {
  #held: T[] = [];
  #takers: ((v: T | null) => void)[] = [];
  #emptied: (() => void)[] = [];
  #closed = false;
  /** Values replaced before anyone took them. */
  dropped = 0;
  /** Values handed to the consumer. */
  delivered = 0;

  /** `depth`: how many undelivered values the slot holds before it drops the oldest (a whole number ≥ 1). */
  constructor(readonly depth = 1) {
    if (!Number.isInteger(depth) || depth < 1) {
      throw new RangeError("LatestSlot depth must be a whole number ≥ 1");
    }
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** As many values held as the depth allows (the next offer drops one). */
  get full(): boolean {
    return this.#held.length >= this.depth;
  }

  /** Values held now (not yet taken). */
  get size(): number {
    return this.#held.length;
  }

  /** Hands `v` to a waiting taker, or holds it (dropping and counting the oldest when full). */
  offer(v: T): void {
    if (this.#closed) return;
    const taker = this.#takers.shift();
    if (taker) {
      this.delivered++;
      taker(v);
      return;
    }
    if (this.full) {
      this.#held.shift();
      this.dropped++;
    }
    this.#held.push(v);
  }

  /** The oldest held value, else the next offered one; null when closed and empty. */
  take(): Promise<T | null> {
    if (this.#held.length > 0) {
      const v = this.#held.shift()!;
      this.delivered++;
      if (this.#held.length === 0) this.#fireEmptied();
      return Promise.resolve(v);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  /** Discards held values without counting them as dropped (e.g. stale after a seek). */
  clear(): void {
    this.#held.length = 0;
    this.#fireEmptied();
  }

  /** Resolves when the slot is empty (for lossless producers). */
  whenEmpty(): Promise<void> {
    if (this.#held.length === 0 || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#emptied.push(r));
  }

  /** Takers waiting now get null; later takes get the held value, then null. */
  close(): void {
    this.#closed = true;
    for (const t of this.#takers.splice(0)) t(null);
    this.#fireEmptied();
  }

  /** Undoes `close()` (a stream that ended and was seeked back). */
  reopen(): void {
    this.#closed = false;
  }

  #fireEmptied(): void {
    for (const r of this.#emptied.splice(0)) r();
  }
}

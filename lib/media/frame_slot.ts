/**
 * LatestSlot — a one-place mailbox between a producer and a slow consumer. `offer()` never waits:
 * an undelivered older value is replaced (and counted in `dropped`), so a slow consumer gets fewer
 * values, never a growing queue. `take()` returns the held value or waits for the next one; after
 * `close()` it returns null once the slot is empty.
 */

export class LatestSlot<T> {
  #value: T | null = null;
  #takers: ((v: T | null) => void)[] = [];
  #emptied: (() => void)[] = [];
  #closed = false;
  /** Values replaced before anyone took them. */
  dropped = 0;
  /** Values handed to the consumer. */
  delivered = 0;

  get closed(): boolean {
    return this.#closed;
  }

  get full(): boolean {
    return this.#value !== null;
  }

  /** Hands `v` to a waiting taker, or holds it (replacing and counting an older one). */
  offer(v: T): void {
    if (this.#closed) return;
    const taker = this.#takers.shift();
    if (taker) {
      this.delivered++;
      taker(v);
      return;
    }
    if (this.#value !== null) this.dropped++;
    this.#value = v;
  }

  /** The held value, else the next offered one; null when closed and empty. */
  take(): Promise<T | null> {
    if (this.#value !== null) {
      const v = this.#value;
      this.#value = null;
      this.delivered++;
      this.#fireEmptied();
      return Promise.resolve(v);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  /** Discards a held value without counting it as dropped (e.g. stale after a seek). */
  clear(): void {
    this.#value = null;
    this.#fireEmptied();
  }

  /** Resolves when the slot is empty (for lossless producers). */
  whenEmpty(): Promise<void> {
    if (this.#value === null || this.#closed) return Promise.resolve();
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

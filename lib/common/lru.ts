/**
 * A map bounded to `max` entries that forgets the least recently used one when full (never all
 * at once), for caches and per-key state such as rate buckets. `get` counts as a use. Pure.
 */

/** One entry, on a ring in use order: the sentinel's `next` is the oldest, its `prev` the newest. */
class Entry<K, V> {
  prev: Entry<K, V> = this;
  next: Entry<K, V> = this;
  constructor(readonly key: K, public value: V) {}
}

/**
 * The map holds each key's entry; use order is kept on the entries' ring, so a use moves one entry
 * by its links and leaves the map alone (issue 37: a delete and a set on the Map per `get`, as
 * before, was ~0.3 µs of a DM's server CPU, in the resend window and the quota cache).
 */
export class LruMap<K, V> {
  readonly #m = new Map<K, Entry<K, V>>();
  readonly #ring = new Entry<K, V>(undefined as K, undefined as V);
  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`LruMap needs room for at least one entry, got ${max}`);
  }
  get size(): number {
    return this.#m.size;
  }
  has(key: K): boolean {
    return this.#m.has(key);
  }
  get(key: K): V | undefined {
    const e = this.#m.get(key);
    if (e === undefined) return undefined;
    if (e !== this.#ring.prev) this.#newest(e);
    return e.value;
  }
  clear(): void {
    this.#m.clear();
    this.#ring.prev = this.#ring.next = this.#ring;
  }
  set(key: K, value: V): void {
    let e = this.#m.get(key);
    if (e !== undefined) {
      e.value = value;
      if (e !== this.#ring.prev) this.#newest(e);
      return;
    }
    if (this.#m.size >= this.max) {
      const oldest = this.#ring.next;
      unlink(oldest);
      this.#m.delete(oldest.key);
    }
    this.#m.set(key, e = new Entry(key, value));
    this.#newest(e, false);
  }
  delete(key: K): boolean {
    const e = this.#m.get(key);
    if (e === undefined) return false;
    unlink(e);
    return this.#m.delete(key);
  }
  /** Puts `e` at the newest end of the ring (taking it off its place first when `linked`). */
  #newest(e: Entry<K, V>, linked = true): void {
    if (linked) unlink(e);
    const ring = this.#ring, last = ring.prev;
    e.prev = last;
    e.next = ring;
    last.next = e;
    ring.prev = e;
  }
}

function unlink<K, V>(e: Entry<K, V>): void {
  e.prev.next = e.next;
  e.next.prev = e.prev;
}

/**
 * A map bounded to `max` entries that forgets the least recently used one when full (never all
 * at once), for caches and per-key state such as rate buckets. `get` counts as a use. Pure.
 */
export class LruMap<K, V> {
  readonly #m = new Map<K, V>();
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
    if (!this.#m.has(key)) return undefined;
    const v = this.#m.get(key) as V;
    this.#m.delete(key); // re-inserted: the map keeps use order, oldest first
    this.#m.set(key, v);
    return v;
  }
  clear(): void {
    this.#m.clear();
  }
  set(key: K, value: V): void {
    this.#m.delete(key);
    if (this.#m.size >= this.max) {
      const oldest = this.#m.keys().next();
      if (!oldest.done) this.#m.delete(oldest.value);
    }
    this.#m.set(key, value);
  }
  delete(key: K): boolean {
    return this.#m.delete(key);
  }
}

/** Token buckets with an injected clock, one per key, for flood control (server and peer listener). Pure. */
import type { Clock } from "./clock.ts";
import { LruMap } from "./lru.ts";

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly ratePerSec: number, readonly burst: number, readonly clock: Clock) {
    this.#tokens = burst;
    this.#at = clock.now();
  }
  /** Takes `cost` tokens (default one); false when there are fewer. A rate of 0 means unlimited. */
  take(cost = 1): boolean {
    if (this.ratePerSec === 0) return true;
    const now = this.clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.ratePerSec);
    this.#at = now;
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
  /** Gives back `cost` tokens taken for something that turned out not to count (never above the burst). */
  give(cost = 1): void {
    this.#tokens = Math.min(this.burst, this.#tokens + cost);
  }
}

/**
 * Buckets keyed by a string (e.g. an address), at most `maxKeys` of them. When full, the bucket
 * used longest ago is forgotten (least recently used; the map keeps use order), never all of them:
 * a sweep of fresh keys cannot reset a throttle that is still being hit.
 */
export class KeyedBuckets {
  readonly #m: LruMap<string, TokenBucket>;
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    readonly clock: Clock,
    maxKeys = 100_000,
  ) {
    this.#m = new LruMap(maxKeys);
  }
  get size(): number {
    return this.#m.size;
  }
  take(key: string): boolean {
    if (this.ratePerSec === 0) return true;
    let b = this.#m.get(key);
    if (!b) {
      b = new TokenBucket(this.ratePerSec, this.burst, this.clock);
      this.#m.set(key, b);
    }
    return b.take();
  }
  /** Gives back a token taken with `take(key)` (a login that succeeded counts for nothing). */
  give(key: string): void {
    this.#m.get(key)?.give();
  }
}

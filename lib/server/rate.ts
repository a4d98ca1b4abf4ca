/** Token buckets with an injected clock, one per key, for flood control. Pure. */
import type { Clock } from "../common/clock.ts";

export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly ratePerSec: number, readonly burst: number, readonly clock: Clock) {
    this.#tokens = burst;
    this.#at = clock.now();
  }
  /** Takes one token; false when empty. A rate of 0 means unlimited. */
  take(): boolean {
    if (this.ratePerSec === 0) return true;
    const now = this.clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.ratePerSec);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Buckets keyed by a string (e.g. an address), forgotten when full again to bound memory. */
export class KeyedBuckets {
  readonly #m = new Map<string, TokenBucket>();
  constructor(readonly ratePerSec: number, readonly burst: number, readonly clock: Clock) {}
  take(key: string): boolean {
    if (this.ratePerSec === 0) return true;
    let b = this.#m.get(key);
    if (!b) {
      if (this.#m.size > 100_000) this.#m.clear();
      b = new TokenBucket(this.ratePerSec, this.burst, this.clock);
      this.#m.set(key, b);
    }
    return b.take();
  }
}

/**
 * Back-off: the one rule for how long to wait before trying again. After `failures` failed attempts
 * the wait is `minMs` doubled that many times, never more than `maxMs`; with `jitter` (a fraction)
 * it is moved by up to that fraction either way, so many clients told the same thing at once do not
 * come back at once. The schedules: a lost connection (RECONNECT_BACKOFF, 500 ms, 1 s … 16 s, then
 * 30 s: core/reconnect.ts, peer/redial.ts); a server that answered `unavailable` — it is there but
 * cannot store right now, and says so at once (UNAVAILABLE_BACKOFF, 250 ms → 1 s, ±25 %:
 * core/sending.ts's outbox, core/reconnect.ts's logins); the PostgreSQL pool's connections to a
 * database that went away (STORE_RECONNECT, 50 → 250 ms: server/store/postgres_store.ts). Pure.
 */
import { cryptoRandom, type RandomBytes } from "./random.ts";

export interface Backoff {
  minMs: number;
  maxMs: number;
  /** Moves each wait by up to this fraction of it either way (0 or absent: exact). */
  jitter?: number;
}

export const RECONNECT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };
/** A server that answered `unavailable` (its store is down, it answers at once) is asked again soon. */
export const UNAVAILABLE_BACKOFF: Backoff = { minMs: 250, maxMs: 1000, jitter: 0.25 };
/** The server's PostgreSQL connections, tried again while the database is away (it is back in ≤ 250 ms). */
export const STORE_RECONNECT: Backoff = { minMs: 50, maxMs: 250 };

/**
 * Milliseconds to wait before the next attempt after `failures` failed ones (0: the first retry);
 * `rand` gives the jitter's randomness (injected; WebCrypto by default).
 */
export function backoffDelay(
  failures: number,
  b: Backoff = RECONNECT_BACKOFF,
  rand: RandomBytes = cryptoRandom,
): number {
  const ms = Math.min(b.maxMs, b.minMs * 2 ** Math.min(Math.max(0, failures), 30));
  if (!b.jitter) return ms;
  const r = rand(2);
  const unit = ((r[0]! << 8) | r[1]!) / 65535; // 0 … 1
  return Math.round(ms * (1 + b.jitter * (2 * unit - 1)));
}

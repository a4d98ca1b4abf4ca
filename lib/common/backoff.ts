/**
 * Reconnect back-off: the one rule for how long to wait before trying a lost connection again,
 * used by the client's reconnect (core/reconnect.ts) and peer mode's redial (peer/redial.ts). After
 * `failures` failed attempts the wait is `minMs` doubled that many times, never more than `maxMs`
 * (default 500 ms, 1 s, 2 s … 16 s, then 30 s). Pure.
 */

export interface Backoff {
  minMs: number;
  maxMs: number;
}

export const RECONNECT_BACKOFF: Backoff = { minMs: 500, maxMs: 30_000 };

/** Milliseconds to wait before the next attempt after `failures` failed ones (0: the first retry). */
export function backoffDelay(failures: number, b: Backoff = RECONNECT_BACKOFF): number {
  return Math.min(b.maxMs, b.minMs * 2 ** Math.min(Math.max(0, failures), 30));
}

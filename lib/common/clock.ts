/**
 * Injected time. Everything in `lib/` that needs "now" or timers takes a `Clock`, so tests can
 * drive time by hand with `ManualClock` (and timers with clock_testing.ts `ManualTimers`) instead of waiting.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  #t: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#t += ms;
  }
  set(ms: number): void {
    this.#t = ms;
  }
}

/** Injected timers: what a timer-driven rule waits on (tests fire them by hand with `ManualTimers`). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(t: unknown): void;
}

/** The runtime's timers. */
export const systemTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

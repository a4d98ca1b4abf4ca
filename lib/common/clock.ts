/**
 * Injected time. Everything in `lib/` that needs "now" or timers takes a `Clock`, so tests can
 * drive time by hand with `ManualClock` instead of waiting.
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

/** Timers on a clock that moves only when told: `advance` runs, in due order, every timer whose time has come. */
export class ManualTimers implements Timers {
  readonly clock = new ManualClock(0);
  readonly #due = new Map<number, { at: number; fn: () => void }>();
  #next = 0;
  /** The delays asked for, in order. */
  readonly asked: number[] = [];
  set(fn: () => void, ms: number): unknown {
    this.asked.push(ms);
    this.#due.set(++this.#next, { at: this.clock.now() + ms, fn });
    return this.#next;
  }
  clear(t: unknown): void {
    this.#due.delete(t as number);
  }
  /** Timers waiting. */
  get pending(): number {
    return this.#due.size;
  }
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.#due) if (e[1].at <= end && (!first || e[1].at < first[1].at)) first = e;
      if (!first) break;
      this.#due.delete(first[0]);
      this.clock.set(first[1].at);
      first[1].fn();
    }
    this.clock.set(end);
  }
}

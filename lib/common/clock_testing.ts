/**
 * Time by hand for tests: `ManualTimers`, the `Timers` of clock.ts on a `ManualClock`, fired as the
 * test moves the clock (lib/server/hub_test.ts drives the presence tick with it).
 */
import { ManualClock, type Timers } from "./clock.ts";

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

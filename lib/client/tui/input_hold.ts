/**
 * Typed-ahead input waits for the command typed before it. A command runs after its line is
 * submitted, and what it changes on screen (`/query bob` focusing bob's buffer) comes in a later
 * pass; keys that arrived with it (a paste of "/query bob⏎hello⏎", or a busy moment that read both
 * lines at once) would otherwise act on the screen as it was: "hello" sent from the status buffer.
 * So the keys after a submitted command are held until the command settles (its own changes queued
 * first), for at most `maxMs` (a timer of the injected clock.ts `Timers`), then handed back in the order they came.
 */
import type { KeyEvent } from "../term/keys.ts";
import { systemTimers, type Timers } from "../../common/clock.ts";

/** The longest time typed-ahead keys wait for a command (a slow one does not freeze the keyboard). */
export const HOLD_MAX_MS = 1000;

export class InputHold {
  #held: KeyEvent[][] = [];
  /** The current hold's number (0: none): a late end of an earlier hold releases nothing. */
  #hold = 0;
  #count = 0;

  /**
   * `release`: takes back held keys, in order; `after`: runs a function once what the command queued
   * was handled (the app's next pass); `timers`: what the `maxMs` bound waits on.
   */
  constructor(
    readonly release: (events: KeyEvent[]) => void,
    readonly after: (fn: () => void) => void,
    readonly maxMs = HOLD_MAX_MS,
    readonly timers: Timers = systemTimers,
  ) {}

  /** True while keys are held. */
  get holding(): boolean {
    return this.#hold !== 0;
  }

  /** Holds the keys that come from now until `p` settles, or `maxMs` passed. */
  hold(p: Promise<unknown>): void {
    if (this.#hold) return;
    const n = this.#hold = ++this.#count;
    const end = () => {
      this.timers.clear(timer);
      this.after(() => this.#release(n));
    };
    const timer = this.timers.set(end, this.maxMs);
    p.then(end, end);
  }

  /** Hands `events` to `handle` in order, keeping those that come after a hold began (or while one lasts). */
  take(events: KeyEvent[], handle: (ev: KeyEvent) => void): void {
    for (let i = 0; i < events.length; i++) {
      if (this.#hold) return void this.#held.push(events.slice(i));
      handle(events[i]!);
    }
  }

  #release(n: number): void {
    if (this.#hold !== n) return;
    this.#hold = 0;
    for (const events of this.#held.splice(0)) this.release(events);
  }
}

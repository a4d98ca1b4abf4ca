/**
 * Reconnecting to peers that dropped out: one timer per peer name, waiting as lib/common/backoff.ts
 * says (`minMs` after a loss, doubled after each failed attempt up to `maxMs`; default 500 ms →
 * 30 s). `attempt(name)` is asked when the timer fires: it resolves true when the peer is back (or
 * need not be dialled any more) and false to try again later. Pure timers, no I/O of its own.
 */
import { type Backoff, backoffDelay, RECONNECT_BACKOFF } from "../../common/backoff.ts";

export class Redialer {
  readonly #timers = new Map<string, { timer?: ReturnType<typeof setTimeout>; failures: number }>();
  #stopped = false;

  constructor(
    readonly attempt: (name: string) => Promise<boolean>,
    readonly backoff: Backoff = RECONNECT_BACKOFF,
  ) {}

  /** Dials `name` after `delay` ms (default: the back-off after its failed attempts so far). */
  schedule(name: string, delay?: number): void {
    if (this.#stopped) return;
    const r = this.#timers.get(name) ?? { failures: 0 };
    clearTimeout(r.timer);
    r.timer = setTimeout(async () => {
      r.timer = undefined;
      if (this.#stopped) return;
      if (await this.attempt(name).catch(() => false)) return;
      r.failures++;
      this.schedule(name);
    }, delay ?? backoffDelay(r.failures, this.backoff));
    this.#timers.set(name, r);
  }

  /** The peer is connected (or accepted again): no timer, and the next loss starts from `minMs`. */
  forget(name: string): void {
    clearTimeout(this.#timers.get(name)?.timer);
    this.#timers.delete(name);
  }

  stop(): void {
    this.#stopped = true;
    for (const r of this.#timers.values()) clearTimeout(r.timer);
    this.#timers.clear();
  }
}

/**
 * `Mailbox<T>`: values that arrive by (sender, id) — a stream key (a file transfer's direct-path
 * candidate goes through the folder's keystore instead: client/files/control.ts) — kept until
 * taken, with one waiter per (sender, id) for a value not arrived yet. At most `keep` unclaimed
 * values are kept (the oldest go first); a waiter that times out rejects with the error `late`
 * makes. Pure: timers only.
 */
export class Mailbox<T> {
  readonly #values = new Map<string, T>();
  readonly #waiters = new Map<string, (v: T) => void>();

  constructor(readonly keep: number, readonly late: (from: string, id: string) => Error) {}

  put(from: string, id: string, v: T): void {
    const k = `${from}\n${id}`;
    const w = this.#waiters.get(k);
    if (w) {
      this.#waiters.delete(k);
      return w(v);
    }
    this.#values.set(k, v);
    if (this.#values.size > this.keep) this.#values.delete(this.#values.keys().next().value!);
  }

  /** The value if it arrived, without waiting (taken). */
  poll(from: string, id: string): T | undefined {
    const k = `${from}\n${id}`;
    const v = this.#values.get(k);
    this.#values.delete(k);
    return v;
  }

  take(from: string, id: string, timeoutMs = 10_000): Promise<T> {
    const have = this.poll(from, id);
    if (have !== undefined) return Promise.resolve(have);
    const k = `${from}\n${id}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters.delete(k);
        reject(this.late(from, id));
      }, timeoutMs);
      this.#waiters.set(k, (v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }
}

/**
 * Group commit for messages. `append` queues a message; once per event-loop turn the queue is
 * written in one durable transaction, then each stored message is fanned out and its promise
 * resolves (so the sender's `ok` is sent only after the message is on disk). Duplicates of
 * (sender, mid) resolve to null.
 */
import type { Hub } from "./hub.ts";
import type { Session } from "./session.ts";
import type { NewMessage, Store, StoredMessage } from "./store/store.ts";

interface Pending {
  m: NewMessage;
  from: Session | null;
  resolve: (r: StoredMessage | null) => void;
  reject: (e: unknown) => void;
}

export class MessageLog {
  #q: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushing: Promise<void> | null = null;
  deliveries = 0;
  stored = 0;

  constructor(readonly store: Store, readonly hub: Hub) {}

  get queued(): number {
    return this.#q.length;
  }

  append(m: NewMessage, from: Session | null): Promise<StoredMessage | null> {
    return new Promise((resolve, reject) => {
      this.#q.push({ m, from, resolve, reject });
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, 0);
    });
  }

  /** Writes everything queued now; resolves when written and fanned out. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => this.#q.length ? this.flush() : undefined);
    const batch = this.#q;
    this.#q = [];
    if (batch.length === 0) return Promise.resolve();
    this.#flushing = (async () => {
      try {
        const ms = batch.map((p) => p.m);
        this.hub.link?.beforeAppend(ms);
        const rows = await this.store.appendMessages(ms);
        this.hub.link?.afterAppend(ms, rows);
        for (let i = 0; i < batch.length; i++) {
          const r = rows[i] ?? null;
          if (r) {
            this.stored++;
            this.deliveries += this.hub.fanOut(r, batch[i]!.from);
          }
          batch[i]!.resolve(r);
        }
      } catch (e) {
        for (const p of batch) p.reject(e);
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /** Flushes and stops the timer (shutdown). */
  async close(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
    while (this.#q.length) await this.flush();
  }
}

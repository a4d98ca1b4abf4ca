/**
 * `AckBatch`: the core's acknowledgements while a UI follows the feed (chat_client.ts). Messages the screen was handed are acknowledged in
 * batches every `ACK_EVERY_MS` (the client saved each before it emitted it); a batch the server did
 * not take is put back in front. The same tick runs the caller's periodic work (the purge of
 * disappearing messages).
 */
import type { ChatMessage } from "../backend.ts";

const ACK_EVERY_MS = 500;

/** What is acknowledged through: the core, over its current connection. */
export interface Acker {
  readonly conn: { readonly closed: boolean };
  ack(ms: ChatMessage[]): Promise<void>;
}

export class AckBatch {
  #batch: ChatMessage[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly client: () => Acker) {}

  /** Messages handed out and not acknowledged yet. */
  get size(): number {
    return this.#batch.length;
  }
  add(...ms: ChatMessage[]): void {
    this.#batch.push(...ms);
  }
  /** A new connection: what the old one handed out is redelivered by the server. */
  clear(): void {
    this.#batch = [];
  }

  /** Starts the tick (once): acknowledges, then `also`. */
  start(also: () => void): void {
    this.#timer ??= setInterval(() => {
      this.flush();
      also();
    }, ACK_EVERY_MS);
  }

  flush(): void {
    const c = this.client();
    if (!this.#batch.length || c.conn.closed) return;
    const batch = this.#batch;
    this.#batch = [];
    c.ack(batch).catch(() => this.#batch.unshift(...batch));
  }

  /** Stops the tick and acknowledges what is left. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.flush();
  }
}

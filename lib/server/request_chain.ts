/**
 * One connection's requests in order (server.ts's read loop): a request runs at once when none is
 * running — no promise at all when it waits for nothing, as a send up to its group commit —, else
 * after the ones before it. After each, `pause` may return a wait (the server's slice: other
 * sockets get a turn). After a request that ran at once, `run` returns that wait and the caller
 * waits for it before it hands on the next. Once a request waits, the ones handed after it join a
 * queue, and one drain runs them in turn (pausing after each, waiting for those that wait): no
 * promise or closure per queued request (issue 37, B: a connection's first read of 250 sends, queued
 * behind its first send's look-up, cost two promises and a closure apiece, a quarter of B's sends).
 * `tail` is the drain: it settles once the queue is empty. `dispatch` never rejects (should it, the
 * queue is dropped and `tail` rejects). `Slice` is that pause: a run of requests ends once it has
 * lasted its time.
 */
export class RequestChain<M> {
  #tail: Promise<void> | null = null;
  /** Requests handed while one waits, in order: message, body, message, body, … (`#next` the first). */
  readonly #queue: (M | Uint8Array | null)[] = [];
  #next = 0;

  constructor(
    readonly dispatch: (m: M, body: Uint8Array) => void | Promise<void>,
    readonly pause: () => Promise<void> | void,
  ) {}

  /** What the requests handed so far wait for (null: nothing, all have run). */
  get tail(): Promise<void> | null {
    return this.#tail;
  }

  /**
   * Runs `m` at once, or after the requests before it; returns the pause the caller must wait for
   * before it hands on the next request (undefined: none).
   */
  run(m: M, body: Uint8Array): Promise<void> | undefined {
    if (this.#tail !== null) {
      this.#queue.push(m, body);
      return;
    }
    const d = this.dispatch(m, body);
    if (d) {
      this.#tail = this.#drain(d);
      return;
    }
    return this.pause() ?? undefined;
  }

  /** Waits for `d`, then runs the queue in order, pausing after each request; empties `tail` when done. */
  async #drain(d: void | Promise<void>): Promise<void> {
    const q = this.#queue;
    try {
      for (;;) {
        if (d) await d;
        const y = this.pause();
        if (y) await y;
        if (this.#next === q.length) return;
        const m = q[this.#next] as M, body = q[this.#next + 1] as Uint8Array;
        q[this.#next] = q[this.#next + 1] = null; // run requests are not kept
        this.#next += 2;
        d = this.dispatch(m, body);
      }
    } finally {
      q.length = 0;
      this.#next = 0;
      this.#tail = null;
    }
  }
}

/**
 * The server's slice (pure, time injected): after `ms` of requests run one after another, `pause`
 * answers a wait (`yieldNow`, a macrotask) so that other sockets' reads and timers run. The clock is
 * read when a slice starts (its first request) and then every `every` requests: each read cost
 * ~0.12 µs, about one a DM (issue 37, B). `restart` when a read resumes in a fresh turn of the event loop.
 */
export class Slice {
  #start = -1;
  #runs = 0;

  constructor(
    readonly ms: number,
    readonly every: number,
    readonly now: () => number,
    readonly yieldNow: () => Promise<void>,
  ) {}

  restart(): void {
    this.#start = -1;
  }

  pause(): Promise<void> | void {
    if (this.#start < 0) {
      this.#start = this.now();
      this.#runs = 0;
      return;
    }
    if (++this.#runs < this.every) return;
    this.#runs = 0;
    if (this.now() - this.#start < this.ms) return;
    return this.yieldNow().then(() => {
      this.#start = this.now();
    });
  }
}

/**
 * One connection's requests in order (server.ts's read loop): a request runs at once when none is
 * running — no promise at all when it waits for nothing, as a send up to its group commit —, else
 * after the ones before it. After each, `pause` may return a wait (the server's slice: other
 * sockets get a turn). After a request that ran at once, `run` returns that wait and the caller
 * waits for it before it hands on the next. Once a request waits, the ones handed after it join a
 * queue, run in turn once it is done (pausing after each, waiting for those that wait): no
 * promise or closure per queued request (issue 37, B: a connection's first read of 250 sends, queued
 * behind its first send's look-up, cost two promises and a closure apiece, a quarter of B's sends).
 * `tail` settles once the queue is empty. `dispatch` never rejects (should it, the
 * queue is dropped and `tail` rejects). `Slice` is that pause: a run of requests ends once it has
 * lasted its time.
 */
export class RequestChain<M> {
  #tail: Promise<void> | null = null;
  /** Requests handed while one waits, in order: message, body, message, body, … (`#head` the first). */
  readonly #queue: (M | Uint8Array | null)[] = [];
  #head = 0;

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
      this.#tail = d.then(this.#next, this.#fail);
      return;
    }
    return this.pause() ?? undefined;
  }

  /** After a request that waited: the pause, then the queue. */
  readonly #next = (): Promise<void> | void => {
    const y = this.pause();
    return y ? y.then(this.#resume) : this.#resume();
  };

  /** Runs the queue until a request waits (the chain goes on after it) or none is left (it ends). */
  readonly #resume = (): Promise<void> | void => {
    const q = this.#queue;
    while (this.#head < q.length) {
      const m = q[this.#head] as M, body = q[this.#head + 1] as Uint8Array;
      q[this.#head] = q[this.#head + 1] = null; // run requests are not kept
      this.#head += 2;
      const d = this.dispatch(m, body);
      if (d) return d.then(this.#next, this.#fail);
      const y = this.pause();
      if (y) return y.then(this.#resume);
    }
    this.#end();
  };

  /** A request rejected (a bug): the queue is dropped and the tail rejects with its error. */
  readonly #fail = (e: unknown): never => {
    this.#end();
    throw e;
  };

  #end(): void {
    this.#queue.length = 0;
    this.#head = 0;
    this.#tail = null;
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
    return this.yieldNow().then(this.#resumed);
  }

  /** A slice starts after the wait (bound once: no closure in `pause`, ARCHITECTURE.md rule 9). */
  readonly #resumed = (): void => {
    this.#start = this.now();
  };
}

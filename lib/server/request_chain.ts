/**
 * One connection's requests in order (server.ts's read loop): a request runs at once when none is
 * running — no promise at all when it waits for nothing, as a send up to its group commit —, else
 * after the ones before it. After each, `pause` may return a wait (the server's slice: other
 * sockets get a turn). After a request that ran at once, `run` returns that wait and the caller
 * waits for it before it hands on the next (one promise per pause; chaining each later request of a
 * read onto it cost two promises and a closure apiece: issue 37, B). After a request that waited,
 * the wait joins the chain. `dispatch` never rejects. `Slice` is that pause: a run of requests ends
 * once it has lasted its time.
 */
export class RequestChain<M> {
  #tail: Promise<void> | null = null;
  /** Requests on the tail not yet done. */
  #queued = 0;

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
      this.#queued++;
      this.#tail = this.#tail.then(() => this.dispatch(m, body)).then(this.#after);
      return;
    }
    const d = this.dispatch(m, body);
    if (d) {
      this.#queued++;
      this.#tail = d.then(this.#after);
      return;
    }
    return this.pause() ?? undefined;
  }

  readonly #done = (): void => {
    if (--this.#queued === 0) this.#tail = null;
  };

  readonly #after = (): Promise<void> | void => {
    const y = this.pause();
    return y ? y.then(this.#done) : this.#done();
  };
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

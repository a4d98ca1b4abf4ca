/**
 * One connection's requests in order (server.ts's read loop): a request runs at once when none is
 * running — no promise at all when it waits for nothing, as a send up to its group commit —, else
 * after the ones before it. After each, `pause` may return a wait (the server's slice: other
 * sockets get a turn), which the next request waits for too. `dispatch` never rejects.
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

  run(m: M, body: Uint8Array): void {
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
    const y = this.pause();
    if (y) {
      this.#queued++;
      this.#tail = y.then(this.#done);
    }
  }

  readonly #done = (): void => {
    if (--this.#queued === 0) this.#tail = null;
  };

  readonly #after = (): Promise<void> | void => {
    const y = this.pause();
    return y ? y.then(this.#done) : this.#done();
  };
}

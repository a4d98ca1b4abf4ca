/**
 * The stall bound of a transfer (issue 36): a download or upload that moves no new verified byte
 * for `ms` fails with `transfer_stalled`, naming what it waited for, instead of waiting for ever
 * (a relay that stops sending while keeping the connection open, a peer gone silent). The code does
 * not start with `file_`, so the receiving side keeps its `.part` for a later resume. Time is
 * injected (`now`; the bound itself is a FileTransfers option, and peer mode's). A download asks for
 * its bytes and races each answer (`race`); a peer channel's come unasked, watched (`watch`).
 */
import { systemClock } from "../../common/clock.ts";
import { BackendError } from "../backend.ts";

/** How long a transfer may move no byte before it fails (the default of `--stall`). */
export const STALL_MS = 60_000;

/** The one wording of a stall: how long, what was awaited, what happens now. */
export function stallError(ms: number, what: string, then: string): BackendError {
  return new BackendError(
    "transfer_stalled",
    `No progress for ${+(ms / 1000).toFixed(1)} s waiting for ${what}; ${then}`,
  );
}

export class Stall {
  #last: number;
  #moved = -1;

  /** `then`: what the failure says happens now (by default: the transfer stopped; run it again to resume). */
  constructor(
    readonly ms: number,
    readonly what: string,
    readonly now: () => number = systemClock.now,
    readonly then = "the transfer stopped (run it again to resume)",
  ) {
    this.#last = now();
  }

  /** Notes how far the transfer is; only a larger figure than before counts as progress. */
  moved(done: number): void {
    if (done > this.#moved) (this.#moved = done, this.#last = this.now());
  }

  #error(): BackendError {
    return stallError(this.ms, this.what, this.then);
  }

  /** How long until the bound passes (counted from the last progress), ms; 0 once it has. */
  left(): number {
    return Math.max(0, this.#last + this.ms - this.now());
  }

  /** Throws once the bound has passed since the last progress (`left()`, the one home of the comparison). */
  check(): void {
    if (this.left() === 0) throw this.#error();
  }

  /**
   * Tells `onStall` the stall error once the bound passes (counted from the last progress, `left()`:
   * a timer that fires while progress came meanwhile looks again then), for a transfer whose bytes
   * come unasked (a peer channel); the function returned stops watching.
   */
  watch(onStall: (e: BackendError) => void): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = () => {
      const left = this.left();
      if (left === 0) onStall(this.#error());
      else timer = setTimeout(look, left);
    };
    timer = setTimeout(look, this.left());
    return () => clearTimeout(timer);
  }

  /** `p`, or the stall error if the bound passes (counted from the last progress) before it settles. */
  async race<T>(p: Promise<T>): Promise<T> {
    this.check();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const left = this.left();
    const fail = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#error()), left);
    });
    try {
      return await Promise.race([p, fail]);
    } finally {
      clearTimeout(timer);
    }
  }
}

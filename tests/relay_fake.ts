/**
 * A fake of the server's `file.put` port for one file, as lib/server/handlers_files.ts answers it:
 * requests handled one at a time in the order sent (one connection), a body appended only at the
 * offset the server has (else the answer is that offset, nothing taken), a body past the declared
 * size refused; `take` lets a test make the server take only part of a body (as a cluster node that
 * had less does). Used by tests/carrier_conformance_test.ts (the relay's world) and
 * tests/relay_upload_test.ts. What was taken comes out by `next`, each body as it was appended.
 */
import { concatBytes } from "../lib/common/bytes.ts";

export class FakeRelay {
  #tail: Promise<unknown> = Promise.resolve();
  #bodies: { off: number; data: Uint8Array }[] = [];
  #waiting: ((b: { off: number; data: Uint8Array } | null) => void)[] = [];
  #cut = false;
  /** How many bytes of a body at `off` the server takes (all of it unless a test says less). */
  take: (off: number, len: number) => number = (_off, len) => len;
  /**
   * Answers wait until this many requests are in flight (or the file's last body was asked): a
   * sender keeping fewer in flight waits for ever; 0: answered at once.
   */
  hold = 0;
  #opened: (() => void)[] = [];
  #last = false;
  /** Requests answered so far, and the most in flight at once. */
  answered = 0;
  flying = 0;
  mostFlying = 0;

  constructor(readonly size: number, public have = 0) {}

  /** The port (upload.ts `Upload.put`): the body is framed (copied) when it is asked. */
  put(off: number, body: Uint8Array | readonly Uint8Array[]): Promise<number> {
    const data = concatBytes(body instanceof Uint8Array ? [body] : [...body]);
    this.mostFlying = Math.max(this.mostFlying, ++this.flying);
    this.#last ||= off + data.length >= this.size;
    if (this.flying >= this.hold || this.#last) { for (const w of this.#opened.splice(0)) w(); }
    const answer = this.#tail.then(async () => {
      if (this.flying < this.hold && !this.#last) await new Promise<void>((r) => this.#opened.push(r));
      await Promise.resolve();
      if (this.#cut) throw new Error("connection lost");
      this.flying--, this.answered++;
      if (off + data.length > this.size) throw new Error("more data than the file's declared size");
      if (off !== this.have || !data.length) return this.have;
      const n = this.take(off, data.length);
      this.#deliver({ off, data: data.subarray(0, n) });
      return this.have += n;
    });
    this.#tail = answer.catch(() => {});
    return answer;
  }

  #deliver(b: { off: number; data: Uint8Array } | null): void {
    const w = this.#waiting.shift();
    if (w) w(b);
    else if (b) this.#bodies.push(b);
  }

  /** The next body taken; null once cut and none is left. */
  next(): Promise<{ off: number; data: Uint8Array } | null> {
    const b = this.#bodies.shift();
    if (b || this.#cut) return Promise.resolve(b ?? null);
    return new Promise((r) => this.#waiting.push(r));
  }

  /** Drops the connection: every request not yet answered fails, and so does every later one. */
  cut(): void {
    this.#cut = true;
    for (const w of this.#waiting.splice(0)) w(null);
  }
}

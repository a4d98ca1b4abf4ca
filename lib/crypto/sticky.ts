/**
 * A sticky failure for streaming decryptors: once a step fails (tampering, truncation, misuse),
 * every later step fails with the same error, so a caller can never read plaintext past a bad
 * chunk. Shared by the age reader (age_stream.ts) and the older chunk format (file_aead.ts).
 */
import { DecryptError } from "./primitives.ts";

export class StickyFailure {
  #err: Error | null = null;

  /** Runs one step; a throw (or an earlier failure) makes every later step throw the same error. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#err) throw this.#err;
    try {
      return await f();
    } catch (e) {
      this.#err = e instanceof Error ? e : new DecryptError(String(e));
      throw this.#err;
    }
  }

  /** Fails every later step with `e` (the current one still returns). */
  set(e: Error): void {
    this.#err = e;
  }
}

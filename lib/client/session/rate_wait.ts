/**
 * The one home of "the server says I send too fast": `paced(fn)` runs `fn` and, while the server
 * refuses it with `rate_limited`, waits (100 ms, doubling, at most 2 s a pause) and runs it again,
 * until it has waited RATE_PATIENCE_MS in all; any other outcome is `fn`'s own. Used where a refusal for
 * speed must not lose anything: a sender-key handout, which the message after it needs
 * (e2e/body_codec.ts), and each line of `parley send --lines` (cli/send_stdin.ts). And of "the
 * server cannot store messages right now" for a scripted send (`untilStored`, cli/messages.ts).
 */
import { BackendError } from "../backend.ts";
import { backoffDelay, UNAVAILABLE_BACKOFF } from "../../common/backoff.ts";

/** How long one request may keep being refused for speed before the refusal is the answer, ms. */
export const RATE_PATIENCE_MS = 60_000;
/** The first pause after a refusal for speed, ms. */
const FIRST_PAUSE_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a scripted send keeps asking while the server cannot store messages (issue 74), ms. */
export const STORE_PATIENCE_MS = 60_000;

/**
 * `fn`'s answer, asked again while the server answers `unavailable` (it cannot store messages now:
 * its database is out of reach), on common/backoff.ts's UNAVAILABLE_BACKOFF (250 ms growing to 1 s a
 * pause, jittered), until `patienceMs` in all; `waiting` is called before the first pause only. `fn`
 * sends with the same mid each time.
 */
export async function untilStored<T>(
  fn: () => Promise<T>,
  waiting: () => void,
  patienceMs = STORE_PATIENCE_MS,
): Promise<T> {
  let waited = 0;
  for (let tries = 0;; tries++) {
    try {
      return await fn();
    } catch (e) {
      const later = e instanceof BackendError && e.code === "unavailable";
      if (!later || waited >= patienceMs) throw e;
      if (waited === 0) waiting();
      const p = Math.min(backoffDelay(tries, UNAVAILABLE_BACKOFF), patienceMs - waited);
      await sleep(p);
      waited += p;
    }
  }
}

/** `fn`'s answer, asked again while the server refuses it for speed (see above; `patienceMs`: tests). */
export async function paced<T>(fn: () => Promise<T>, patienceMs = RATE_PATIENCE_MS): Promise<T> {
  let waited = 0;
  for (let pause = FIRST_PAUSE_MS;; pause = Math.min(2000, pause * 2)) {
    try {
      return await fn();
    } catch (e) {
      const slow = e instanceof BackendError && e.code === "rate_limited";
      if (!slow || waited >= patienceMs) throw e;
      await sleep(pause);
      waited += pause;
    }
  }
}

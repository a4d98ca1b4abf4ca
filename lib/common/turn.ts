/**
 * Yielding to the event loop (one home), two ways, measured on Deno 2.9.6:
 * - `yieldToIo()` (a 0 ms timer): every socket whose data is ready gets its turn first; it waits
 *   ~2 ms (a 1 ms floor plus the timer's granularity). For fairness: between one connection's
 *   pipelined requests, between group commits under load, between sweep batches.
 * - `onNextTurn(fn)` (setImmediate): runs in microseconds, but a chain of them can starve I/O
 *   (~60 turns before a ready socket is read). For starting work soon when nothing is backed up,
 *   e.g. the first group commit after an idle moment (it paid the 2 ms timer per message).
 */
import { clearImmediate, setImmediate } from "node:timers";

/** Resolves after the I/O that is ready now has been handled (a 0 ms timer). */
export const yieldToIo = (): Promise<void> => new Promise((r) => void afterIo(r));

/** Runs `fn` after the I/O that is ready now (a 0 ms timer); returns a function that cancels it. */
export function afterIo(fn: () => void): () => void {
  const h = setTimeout(fn, 0);
  return () => clearTimeout(h);
}

/** Runs `fn` on the next event-loop turn, soon; returns a function that cancels it. */
export function onNextTurn(fn: () => void): () => void {
  const h = setImmediate(fn);
  return () => clearImmediate(h);
}

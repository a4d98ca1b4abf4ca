/**
 * The clock of a peer-mode watch-together session (peer/watch.ts, issue 39.7). There is no server: a
 * session's times are on the clock of the party whose name sorts first in its key ("d:alice:bob":
 * alice's), so both ends know whose without agreeing on anything. The other party asks that clock
 * over the channel (`time` controls: `ask(sent)` sends its own time and resolves with the answer,
 * which carries the reference's `now`); each round trip is a `ClockOffset` sample, the quickest wins
 * and the answer counts as the middle of it, so the error is at most half the quickest round trip.
 * The reference party makes the round trips too (one: it tells an older peer that never answers),
 * taking no sample. Time comes from the injected `now`.
 */
import type { ClockOffset, WatchControl } from "../video/watch_together.ts";

/** True when `me` is the reference of session `key` (its clock is the session's). */
export const isReference = (key: string, me: string): boolean => key.split(":")[1] === me;

/** Makes `n` round trips through `ask`, feeding `clock` unless `me` is the reference of `key`. */
export async function sampleSessionClock(
  ask: (sent: number) => Promise<WatchControl>,
  clock: ClockOffset,
  now: () => number,
  o: { key: string; me: string; n: number },
): Promise<void> {
  for (let i = 0; i < o.n; i++) {
    const sent = now();
    const a = await ask(sent);
    if (!isReference(o.key, o.me) && a.kind === "time" && a.now !== undefined) {
      clock.sample(sent, a.now, now());
    }
  }
}

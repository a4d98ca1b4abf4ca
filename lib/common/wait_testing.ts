/**
 * Tests' one polling wait: `until(ok, what, ms?)` looks at `ok` until it answers something truthy
 * (an event a test cannot subscribe to: a counter, a screen, a file) and fails naming `what` when
 * it does not within `ms`. tests/helpers.ts `eventually` is this one with its older argument order.
 * Test code only; for waits on events, not for letting time pass.
 */

/** How long `until` waits by default, ms: long enough for a loaded machine, short enough to fail fast. */
export const UNTIL_MS = 5000;

/**
 * Resolves with `ok()`'s first truthy answer, looked at again every `everyMs` (a timer turn, so
 * sockets and child processes get their share); throws "timed out after N ms waiting for WHAT"
 * when none came within `ms` (`what` may be a function: what it says then, a screen as it was). An
 * error `ok` throws ends the wait at once.
 */
export async function until<T>(
  ok: () => T | Promise<T>,
  what: string | (() => string),
  ms = UNTIL_MS,
  everyMs = 5,
): Promise<NonNullable<T>> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await ok();
    if (v) return v as NonNullable<T>;
    if (performance.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

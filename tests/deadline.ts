/**
 * Per-test deadlines: a test that hangs (a spawned server or client that never answers, a tmux pane
 * that never shows a line) fails by its name after a generous time instead of holding CI until the
 * job's timeout. `withDeadline` races one promise against the clock; `test` is `Deno.test` (same
 * three forms) with every test function under a deadline: TEST_DEADLINE_MS, or `deadlineMs` in
 * the options. Processes the hung test started are not killed here: the run ends and reports.
 */

export const TEST_DEADLINE_MS = 120_000;

/** Resolves as `fn` does, or rejects naming `name` once `ms` have passed first. */
export function withDeadline<T>(ms: number, name: string, fn: () => T | Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Test "${name}" did not finish within ${ms / 1000} s (tests/deadline.ts)`)),
      ms,
    );
  });
  return Promise.race([Promise.resolve().then(fn), late]).finally(() => clearTimeout(timer));
}

type Fn = (t: Deno.TestContext) => void | Promise<void>;
type Options = Omit<Deno.TestDefinition, "name" | "fn"> & { deadlineMs?: number };

const timed = (fn: Fn, ms = TEST_DEADLINE_MS) => (t: Deno.TestContext) =>
  withDeadline(ms, t.name, () => fn(t));

/** `Deno.test` with a deadline on the test function. */
export function test(def: Deno.TestDefinition & { deadlineMs?: number }): void;
export function test(name: string, fn: Fn): void;
export function test(name: string, options: Options, fn: Fn): void;
export function test(
  a: string | (Deno.TestDefinition & { deadlineMs?: number }),
  b?: Fn | Options,
  c?: Fn,
): void {
  if (typeof a !== "string") {
    const { deadlineMs, fn, ...rest } = a;
    return Deno.test({ ...rest, fn: timed(fn, deadlineMs) });
  }
  if (typeof b === "function") return Deno.test(a, timed(b));
  const { deadlineMs, ...rest } = b ?? {};
  Deno.test(a, rest, timed(c!, deadlineMs));
}

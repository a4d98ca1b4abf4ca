/**
 * The PostgreSQL store's expected failures (issue 74): what the npm `postgres` client throws when
 * PostgreSQL cannot be reached, drops the connection or cancels a statement past its timeout becomes
 * `StoreUnavailable` (store_errors.ts), and every call of the store is raced against a deadline so a
 * PostgreSQL that is paused or cut off answers "unavailable" within seconds instead of never
 * (postgres_store.ts `open` guards its methods with `guardCalls`). Pure apart from the timer.
 */
import { StoreUnavailable } from "./store_errors.ts";

/** The client's own codes for a connection that failed or went away. */
const CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Deno's names of the same socket failures (when an error reaches the client unwrapped). */
const DENO_NAMES = new Set([
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "BrokenPipe",
  "TimedOut",
]);

/**
 * PostgreSQL's SQLSTATEs of "not now": a statement cancelled by its timeout (57014), the server
 * shutting down or starting (57P01–57P03), too many connections (53300), connection exceptions (08…).
 */
const transientState = (s: string) =>
  s === "57014" || /^57P0[123]$/.test(s) || s === "53300" || s.startsWith("08");

/** `e` as the store's failure: `StoreUnavailable` when PostgreSQL could not answer now, else `e`. */
export function classifyPgError(e: unknown): unknown {
  if (e instanceof StoreUnavailable || !(e instanceof Error)) return e;
  const code = String((e as { code?: unknown }).code ?? "");
  if (CLIENT_CODES.has(code) || DENO_NAMES.has(e.name) || transientState(code)) {
    return new StoreUnavailable(
      `The server cannot reach its database right now (${code || e.name}: ${e.message})`,
      {
        cause: e,
      },
    );
  }
  return e;
}

/**
 * Wraps each async method `names` of `target` (own or inherited) on the instance: its promise is
 * raced against `timeoutMs` (then `StoreUnavailable`; the statement itself runs on, and a resend of
 * a message it stored meets its first copy) and its failure classified. Once a call found PostgreSQL
 * out of reach, one call at a time goes on to see whether it is back and the others are answered
 * `StoreUnavailable` at once (the client would queue them until it reconnects): a login or a send
 * during an outage hears "unavailable" without waiting.
 */
export function guardCalls(target: object, names: readonly string[], timeoutMs: number): void {
  const t = target as Record<string, unknown>;
  const state = { down: false, probing: false };
  for (const name of names) {
    const f = t[name];
    if (typeof f !== "function" || f.constructor.name !== "AsyncFunction") continue;
    t[name] = async function (this: unknown, ...args: unknown[]) {
      if (state.down && state.probing) {
        throw new StoreUnavailable(
          `The server cannot reach its database right now (${name}: still out of reach)`,
        );
      }
      const probe = state.down;
      if (probe) state.probing = true;
      try {
        const r = await within(f.apply(this, args) as Promise<unknown>, timeoutMs, name);
        state.down = false;
        return r;
      } catch (e) {
        // Out of reach, or no answer at all; a statement PostgreSQL cancelled (57014) says it is there.
        if (e instanceof StoreUnavailable && (e.cause as { code?: unknown } | undefined)?.code !== "57014") {
          state.down = true;
        }
        throw e;
      } finally {
        if (probe) state.probing = false;
      }
    };
  }
}

async function within<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StoreUnavailable(
            `The server cannot reach its database right now (${name}: no answer in ${ms} ms)`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([p, late]);
  } catch (e) {
    throw classifyPgError(e);
  } finally {
    clearTimeout(timer);
  }
}

/** The public methods of a class and its parents (up to Object), constructors aside. */
export function methodNames(proto: object | null): string[] {
  const out = new Set<string>();
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n);
      if (n !== "constructor" && typeof d?.value === "function") out.add(n);
    }
  }
  return [...out];
}

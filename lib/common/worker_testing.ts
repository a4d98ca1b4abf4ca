/**
 * A worker module that cannot start, for the tests of an in-thread fallback (media/decoder.ts,
 * crypto/password.ts): it throws as it loads. Deno prints a worker's uncaught error on standard
 * error whatever its parent does with it, so the error's own words say that it is expected.
 */

/** The URL of a worker that throws at once, its error naming `what` falls back and saying it is expected. */
export function brokenWorkerUrl(what: string): string {
  const msg = `expected: this worker fails to start on purpose; the test checks that ${what}`;
  return `data:application/javascript,${
    encodeURIComponent(`const why = ${JSON.stringify(msg)};\nthrow new Error(why);`)
  }`;
}

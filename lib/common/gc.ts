/**
 * V8's collector made callable (the one home): the `gc` function V8 gives a new context once
 * `--expose-gc` is set (node:v8 and node:vm; no other flag changes). It does two full collections
 * whatever options it is given. `collector()` is null where it cannot be had; its callers then do
 * nothing. Used where V8 alone would keep memory it does not need: a client's receive garbage
 * (client/files/garbage.ts), a server's young generation after a burst (server/heap_trim.ts).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export type Gc = () => void;

let gcFn: Gc | null | undefined;

/** V8's collector, made callable once; null when it cannot be. */
export function collector(): Gc | null {
  if (gcFn !== undefined) return gcFn;
  try {
    setFlagsFromString("--expose-gc");
    const f = runInNewContext("gc");
    gcFn = typeof f === "function" ? (f as Gc) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

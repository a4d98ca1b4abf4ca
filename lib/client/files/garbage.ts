/**
 * Bounds the garbage a long transfer leaves (issue 36: a 1 GiB receive within 128 MiB of RSS). Every
 * chunk received makes short-lived buffers outside V8's heap (the frame it came in, its plaintext
 * from node:crypto), which V8 collects only once ~64 MiB of them piled up — and the allocator keeps
 * the pages it once held. `Garbage.made(n)` counts such bytes and, every `every` bytes, runs a
 * young-generation collection (a millisecond or so: the buffers are young), through the `gc`
 * function V8 gives a new context once `--expose-gc` is set (node:v8 and node:vm; nothing else of
 * V8's flags changes). Where that is not available, it does nothing.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (o?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

let gcFn: Gc | null | undefined;

/** V8's collector, made callable once; null when it cannot be. */
function collector(): Gc | null {
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

/** Bytes of transfer buffers between two collections. */
export const GARBAGE_EVERY = 8 * 1024 * 1024;

export class Garbage {
  #since = 0;
  constructor(readonly every = GARBAGE_EVERY) {}

  /** `n` more bytes of short-lived buffers were made; collects them every `every` bytes. */
  made(n: number): void {
    this.#since += n;
    if (this.#since < this.every) return;
    this.#since = 0;
    collector()?.({ type: "minor" });
  }
}

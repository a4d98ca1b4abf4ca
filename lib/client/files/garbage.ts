/**
 * Bounds the garbage a long receive leaves (issue 36: a 1 GiB receive within 128 MiB of RSS). Every
 * chunk received makes short-lived buffers outside V8's heap (the frame it came in, its plaintext
 * from node:crypto), which V8 collects only once ~64 MiB of them piled up — and the allocator keeps
 * the pages it once held, so the process grew by ~90 MiB whatever the file's size. `Garbage.made(n)`
 * counts such bytes; every LOOK_EVERY of them it reads V8's external memory and, over `limit`, runs
 * a young-generation collection through the `gc` function V8 gives a new context once `--expose-gc`
 * is set (node:v8 and node:vm; no other flag changes). That costs CPU — each collection ≈ 30–60 ms
 * in a client, one per ≈ 3.6 MiB received: `deno task bench files` relayed 1 GiB, back to back,
 * receiver CPU 28.6 s per GiB and 21 MB/s with it against 9.6 s and 36 MB/s without (RSS 119 against
 * 189 MiB). A larger `limit` trades RSS for CPU. Where `gc` is not available, it does nothing.
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

/** External memory (bytes) above which a receive collects its garbage. */
export const GARBAGE_LIMIT = 12 * 1024 * 1024;
/** Bytes made between two looks at the external memory. */
const LOOK_EVERY = 1024 * 1024;

export class Garbage {
  #since = 0;
  constructor(readonly limit = GARBAGE_LIMIT) {}

  /** `n` more bytes of short-lived buffers were made; collects them when too many are held. */
  made(n: number): void {
    this.#since += n;
    if (this.#since < LOOK_EVERY) return;
    this.#since = 0;
    if (Deno.memoryUsage().external > this.limit) collector()?.({ type: "minor" });
  }
}

/**
 * Gives back the memory a burst of connections left (issue 37, workload C). V8 grows its young
 * generation (to two 16 MiB semi-spaces) while many objects live through its scavenges — a burst
 * of 2,000 logins does — and keeps it at that size while nothing more is allocated: an idle server
 * held ~48 MB it had no use for (~24 KB of the 59 KB per idle connection). Every `LOOK_MS` the
 * server says how many connections, reads and requests it served since its last look
 * (`HeapTrim.look`); after `QUIET_LOOKS` looks in a row with few (quiet: `QUIET_READS` plus one per
 * `SESSIONS_PER_READ` sessions, their pings), with at least `BURST_OPENED` connections opened since
 * the last collection and the young generation over `YOUNG_MAX`, V8's `gc` (common/gc.ts) shrinks
 * it. (Without the count, workload A's room of 100, idle for half a second while the load generator
 * caught up, was collected mid-run: 10 % more server CPU per delivery, the young generation small
 * again and code to warm up after. Counting the process's CPU time did not tell that moment apart:
 * the server was idle then.) That is two full collections of the whole heap, the event loop held
 * meanwhile: 130–200 ms with 2,000 idle connections on the 2-core test VM (≈ 100 µs of CPU per
 * connection of the burst), once after a burst, never during one. It is not tried again until the
 * young generation has grown past its size after the last one, so where the collection cannot
 * shrink it nothing repeats. Where `gc` is not available, nothing happens. Nor on a heap of more than
 * `HEAP_MAX` in use: the pause grows with the heap (a server of 100,000 connections would stop for
 * seconds), while the young generation's 32 MiB is then a small share of what the process holds.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";
import { collector, type Gc } from "../common/gc.ts";

/** How often the server looks, ms. */
export const LOOK_MS = 250;
/** Young generation (bytes committed) above which a quiet server collects (V8 starts it at ~2 MiB). */
export const YOUNG_MAX = 4 * 1024 * 1024;
/** Reads per look that still count as quiet, besides the sessions' pings. */
export const QUIET_READS = 32;
/** Sessions per read a look may see and still count as quiet (a session is pinged every 30 s: 1 in 120). */
export const SESSIONS_PER_READ = 64;
/** Quiet looks in a row before a collection (a slow burst has quiet moments). */
export const QUIET_LOOKS = 2;
/** Connections opened since the last collection that make a burst worth collecting after. */
export const BURST_OPENED = 500;

/** Heap in use (bytes) above which no collection is forced: its pause would be too long. */
export const HEAP_MAX = 256 * 1024 * 1024;

/** Bytes of V8's heap in use now. */
export function heapBytes(): number {
  return getHeapStatistics().used_heap_size;
}

/** Bytes V8 has committed to its young generation now. */
export function youngBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

export class HeapTrim {
  /** The young generation's size after the last collection (0: none yet). */
  #after = 0;
  /** Quiet looks in a row. */
  #quiet = 0;
  /** Connections opened since the last collection. */
  #opened = 0;
  /** Collections made. */
  collections = 0;

  constructor(
    readonly young: () => number = youngBytes,
    readonly gc: () => Gc | null = collector,
    readonly heap: () => number = heapBytes,
  ) {}

  /**
   * Collects now when the young generation is over YOUNG_MAX, quiet or not (the server once started:
   * loading its code left ~10 MiB, so the idle server starts lean rather than at its first quiet look).
   */
  settle(): boolean {
    const y = this.young();
    if (y <= YOUNG_MAX || this.heap() > HEAP_MAX) return false;
    const gc = this.gc();
    if (!gc) return false;
    gc();
    this.collections++;
    this.#opened = 0;
    this.#after = this.young();
    return true;
  }

  /**
   * `reads` reads were served and `opened` connections opened since the last look, with `sessions`
   * open; collects when due.
   */
  look(reads: number, sessions: number, opened: number): boolean {
    this.#opened += opened;
    if (reads > QUIET_READS + sessions / SESSIONS_PER_READ) {
      this.#quiet = 0;
      return false;
    }
    if (++this.#quiet < QUIET_LOOKS || this.#opened < BURST_OPENED) return false;
    return this.young() > this.#after && this.settle();
  }
}

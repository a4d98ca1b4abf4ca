/**
 * Gives back the memory a burst of connections left (issue 37, workload C). V8 grows its young
 * generation (to two 16 MiB semi-spaces) while many objects live through its scavenges — a burst
 * of 2,000 logins does — and keeps it at that size while nothing more is allocated: an idle server
 * held ~30 MB it had no use for (15 KB of the 60 KB per idle connection). Every `LOOK_MS` the
 * server says how many reads it served since its last look (`HeapTrim.look`); when that was few
 * (quiet: `QUIET_READS` plus one per `SESSIONS_PER_READ` sessions, their pings) and the young
 * generation is over `YOUNG_MAX`, one full collection (common/gc.ts) shrinks it. It is not tried
 * again until the young generation has grown past its size after the last one, so where the
 * collection cannot shrink it nothing repeats. Where `gc` is not available, nothing happens.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { collector, type Gc } from "../common/gc.ts";

/** How often the server looks, ms. */
export const LOOK_MS = 250;
/** Young generation (bytes committed) above which a quiet server collects (V8 starts it at ~2 MiB). */
export const YOUNG_MAX = 4 * 1024 * 1024;
/** Reads per look that still count as quiet, besides the sessions' pings. */
export const QUIET_READS = 32;
/** Sessions per read a look may see and still count as quiet. */
export const SESSIONS_PER_READ = 8;

/** Bytes V8 has committed to its young generation now. */
export function youngBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

export class HeapTrim {
  /** The young generation's size after the last collection (0: none yet). */
  #after = 0;
  /** Collections made. */
  collections = 0;

  constructor(
    readonly young: () => number = youngBytes,
    readonly gc: () => Gc | null = collector,
  ) {}

  /** `reads` reads were served since the last look, with `sessions` open; collects when due. */
  look(reads: number, sessions: number): boolean {
    if (reads > QUIET_READS + sessions / SESSIONS_PER_READ) return false;
    const y = this.young();
    if (y <= Math.max(YOUNG_MAX, this.#after)) return false;
    const gc = this.gc();
    if (!gc) return false;
    gc();
    this.collections++;
    this.#after = this.young();
    return true;
  }
}

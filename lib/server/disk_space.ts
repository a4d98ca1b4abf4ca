/**
 * The free-space floor (issue 33): while the disk under a folder has less than `floorBytes` free,
 * stored sends, file uploads and registrations are refused with `disk_full`, before the disk fills
 * and every write fails (the database's included). The probe (data_dir.ts's `freeBytes`, or a
 * test's) is asked at most once a second per folder; an unknown answer (null) never refuses.
 * Between two probes every `need` granted is counted as reserved and taken from the probe's answer
 * (issue 68 item 5: a burst within one second cannot pass the floor); a new probe starts the count
 * again at zero (what was granted is on the disk by then, or soon). No I/O of its own.
 */
import type { Clock } from "../common/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";

/** How long one answer of the probe is reused, ms. */
const FRESH_MS = 1000;

/** One folder's last probe: when, its answer, and the bytes granted since. */
interface Seen {
  at: number;
  free: number | null;
  granted: number;
}

export class DiskSpace {
  readonly #seen = new Map<string, Seen>();
  constructor(
    readonly probe: (dir: string) => number | null,
    readonly floorBytes: number,
    readonly clock: Clock,
  ) {}

  /** The folder's probe, asked again once the last answer is a second old (the granted count reset). */
  #fresh(dir: string, now: number): Seen {
    let s = this.#seen.get(dir);
    if (s && now - s.at < FRESH_MS) return s;
    s = { at: now, free: this.probe(dir), granted: 0 };
    this.#seen.set(dir, s);
    return s;
  }

  /**
   * Free bytes under `dir` (the probe at most a second old, less what was granted since), or null
   * when unknown; `now`: the clock, when read already.
   */
  free(dir: string, now = this.clock.now()): number | null {
    const s = this.#fresh(dir, now);
    return s.free === null ? null : s.free - s.granted;
  }

  /**
   * Why `need` more bytes under `dir` are refused (they would leave less than the floor), or null —
   * and then they count as reserved until the next probe; `now`: the clock, when the caller read it
   * already (a send reads it once).
   */
  refusal(dir: string, need = 0, now = this.clock.now()): { code: string; msg: string } | null {
    if (this.floorBytes <= 0) return null;
    const s = this.#fresh(dir, now);
    if (s.free === null) return null;
    if (s.free - s.granted - need >= this.floorBytes) {
      s.granted += need;
      return null;
    }
    return {
      code: ErrorCode.DiskFull,
      msg: "The server is low on disk space and stores nothing more for now; try again later",
    };
  }
}

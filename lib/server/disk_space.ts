/**
 * The free-space floor (issue 33): while the disk under a folder has less than `floorBytes` free,
 * stored sends, file uploads and registrations are refused with `disk_full`, before the disk fills
 * and every write fails (the database's included). The probe (data_dir.ts's `freeBytes`, or a
 * test's) is asked at most once a second per folder; an unknown answer (null) never refuses.
 * No I/O of its own.
 */
import type { Clock } from "../common/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";

/** How long one answer of the probe is reused, ms. */
const FRESH_MS = 1000;

export class DiskSpace {
  readonly #seen = new Map<string, { at: number; free: number | null }>();
  constructor(
    readonly probe: (dir: string) => number | null,
    readonly floorBytes: number,
    readonly clock: Clock,
  ) {}

  /** Free bytes under `dir` (at most a second old), or null when unknown; `now`: the clock, when read already. */
  free(dir: string, now = this.clock.now()): number | null {
    const s = this.#seen.get(dir);
    if (s && now - s.at < FRESH_MS) return s.free;
    const free = this.probe(dir);
    this.#seen.set(dir, { at: now, free });
    return free;
  }

  /**
   * Why `need` more bytes under `dir` are refused (they would leave less than the floor), or null;
   * `now`: the clock, when the caller read it already (a send reads it once).
   */
  refusal(dir: string, need = 0, now?: number): { code: string; msg: string } | null {
    if (this.floorBytes <= 0) return null;
    const free = this.free(dir, now);
    if (free === null || free - need >= this.floorBytes) return null;
    return {
      code: ErrorCode.DiskFull,
      msg: "The server is low on disk space and stores nothing more for now; try again later",
    };
  }
}

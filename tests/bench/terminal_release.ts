/**
 * The terminal bench's regression row (terminal_video.ts): each renderer's CPU per shown frame, as a
 * ratio to timg's in the same run, against the figure recorded for the last release in
 * terminal_release.json beside this file. A run whose median is above the recorded median by more
 * than the run-to-run range — the larger of the release's (max − min of its samples) and this run's
 * own, so that a noisier machine than the recorded one does not cry wolf — makes a row that says
 * REGRESSION, and `deno task bench` then exits non-zero (main.ts). Pure but for reading the file.
 */

/** One renderer and size as recorded for a release: the ratio's median and its samples' range. */
export interface ReleaseFigure {
  median: number;
  min: number;
  max: number;
}

export interface ReleaseFigures {
  /** The release the figures were measured on. */
  release: string;
  /** How they were measured (the command, the machine's load). */
  how: string;
  /** The clip length they were measured with: a run with another compares nothing (fixed costs weigh differently). */
  clipSeconds: number;
  /** Keyed "halfblock 200x60": Parley total CPU per shown frame / timg's CPU per source frame. */
  ratios: Record<string, ReleaseFigure>;
}

export async function readReleaseFigures(
  url = new URL("./terminal_release.json", import.meta.url),
): Promise<ReleaseFigures | null> {
  try {
    return JSON.parse(await Deno.readTextFile(url)) as ReleaseFigures;
  } catch {
    return null;
  }
}

/** Verdict on this run's samples of one key (`samples`: its plays' ratios): null when nothing was recorded for it. */
export function releaseVerdict(
  figures: ReleaseFigures | null,
  key: string,
  median: number,
  clipSeconds: number,
  samples: number[] = [],
): { limit: number; regressed: boolean; release: string } | null {
  const f = figures?.ratios[key];
  if (!f || !Number.isFinite(median) || figures!.clipSeconds !== clipSeconds) return null;
  const own = samples.length > 1 ? Math.max(...samples) - Math.min(...samples) : 0;
  const limit = f.median + Math.max(f.max - f.min, Number.isFinite(own) ? own : 0);
  return { limit, regressed: median > limit, release: figures!.release };
}

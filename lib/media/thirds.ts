/**
 * Thirds mode — a pure plan of which rendition serves which frames: the first third of the video
 * from 240p, the middle third from 720p, the last third from 1080p. A rendition that does not
 * exist is replaced by the nearest lower one (then the nearest higher), so a plan always covers
 * every frame exactly once, in order.
 */

export type Rendition = "240p" | "720p" | "1080p";
/** The renditions the library makes, smallest first. */
export const RENDITIONS: readonly Rendition[] = ["240p", "720p", "1080p"];
export const RENDITION_HEIGHT: Readonly<Record<Rendition, number>> = {
  "240p": 240,
  "720p": 720,
  "1080p": 1080,
};

/** Frames [startFrame, endFrame) come from `rendition`. */
export interface ThirdsSegment {
  rendition: Rendition;
  startFrame: number;
  endFrame: number;
}

/** The rendition to use when `wanted` is missing: nearest lower available, else nearest higher. */
export function nearestRendition(wanted: Rendition, available: readonly Rendition[]): Rendition | null {
  if (available.includes(wanted)) return wanted;
  const w = RENDITION_HEIGHT[wanted];
  const sorted = [...available].sort((a, b) => RENDITION_HEIGHT[a] - RENDITION_HEIGHT[b]);
  const lower = sorted.filter((r) => RENDITION_HEIGHT[r] < w);
  return lower.at(-1) ?? sorted[0] ?? null;
}

/** Splits `totalFrames` into three ranges (sizes differ by at most one) with one rendition each. */
export function planThirds(
  totalFrames: number,
  available: readonly Rendition[] = RENDITIONS,
): ThirdsSegment[] {
  const n = Math.max(0, Math.floor(totalFrames));
  const cuts = [0, Math.round(n / 3), Math.round((2 * n) / 3), n];
  const out: ThirdsSegment[] = [];
  for (let k = 0; k < 3; k++) {
    const r = nearestRendition(RENDITIONS[k]!, available);
    if (r === null) return [];
    const startFrame = cuts[k]!, endFrame = cuts[k + 1]!;
    if (endFrame <= startFrame) continue;
    const last = out.at(-1);
    if (last && last.rendition === r) last.endFrame = endFrame; // merge when renditions collapse
    else out.push({ rendition: r, startFrame, endFrame });
  }
  return out;
}

/** The segment serving frame `index` (clamped to the plan). */
export function segmentForFrame(plan: readonly ThirdsSegment[], index: number): ThirdsSegment | null {
  for (const s of plan) if (index < s.endFrame) return s;
  return plan.at(-1) ?? null;
}

/**
 * Adaptive choice — pure. Picks the rendition and the frame size for one viewer from the pane's
 * size in pixels and how well the viewer keeps up (frames it actually takes per second, and the
 * transport's throughput when known). Hysteresis: stepping down needs the shortfall to last
 * `downHoldMs`, stepping up needs good delivery for `upHoldMs`, and after any switch nothing
 * changes for `cooldownMs`. A pane that shrinks switches down at once (no wasted pixels).
 * Playback starts at most at `startMax` (720p) and steps up only on evidence: when the viewer
 * reports how many frames it drew and how busy drawing kept it (`viewerLoad`), the step is taken
 * only if that load, scaled by the next rendition's pixels, stays under `maxLoad`. A viewer that
 * drops frames locally thus steps the server down, and one near its limit is not stepped up.
 */

import { type Rendition, RENDITION_HEIGHT, RENDITIONS } from "./thirds.ts";

export interface AdaptiveInput {
  /** Milliseconds, from the stream's clock. */
  now: number;
  paneWidth: number;
  paneHeight: number;
  available: readonly Rendition[];
  sourceFps: number;
  /** Frames the viewer took per second over the recent window. */
  deliveredFps: number;
  /** Mean JPEG size (bytes) recently sent at the current rendition. */
  bytesPerFrame: number;
  /** Bytes per second the transport achieved, when it knows. */
  throughputBps?: number;
  /**
   * Fraction of its time the viewer spent decoding and drawing frames, as it reported lately
   * (absent: it did not say).
   */
  viewerLoad?: number;
}

export interface AdaptiveState {
  rendition: Rendition;
  changedAt: number;
  goodSince: number | null;
  badSince: number | null;
}

export interface AdaptiveOptions {
  /** delivered/source fps below this is a shortfall. */
  downRatio: number;
  /** delivered/source fps at or above this is good delivery. */
  upRatio: number;
  downHoldMs: number;
  upHoldMs: number;
  cooldownMs: number;
  /** Throughput must exceed the estimated need of the next rendition by this factor. */
  headroom: number;
  /** A step up must keep the viewer's estimated load at or under this. */
  maxLoad: number;
  /** The highest rendition playback starts at (a larger one is reached by stepping up). */
  startMax: Rendition;
}

export const ADAPTIVE_DEFAULTS: AdaptiveOptions = {
  downRatio: 0.8,
  upRatio: 0.95,
  downHoldMs: 1000,
  upHoldMs: 2500,
  cooldownMs: 1500,
  headroom: 1.25,
  maxLoad: 0.75,
  startMax: "720p",
};

function sorted(av: readonly Rendition[]): Rendition[] {
  return RENDITIONS.filter((r) => av.includes(r));
}

/** The smallest available rendition at least as tall as the pane (else the tallest). */
export function wantedRendition(paneHeight: number, available: readonly Rendition[]): Rendition | null {
  const av = sorted(available);
  return av.find((r) => RENDITION_HEIGHT[r] >= paneHeight) ?? av.at(-1) ?? null;
}

/**
 * Frame size to ask ffmpeg for: the source aspect ratio fitted inside the pane, never larger than
 * the rendition itself; even numbers (what H.264/MJPEG scalers want), at least 2×2.
 */
export function targetSize(
  sourceWidth: number,
  sourceHeight: number,
  rendition: Rendition,
  paneWidth: number,
  paneHeight: number,
): { width: number; height: number } {
  const rh = Math.min(RENDITION_HEIGHT[rendition], sourceHeight);
  const rw = (sourceWidth * rh) / sourceHeight;
  const scale = Math.min(1, paneWidth / rw, paneHeight / rh);
  const even = (x: number) => Math.max(2, Math.floor(x / 2) * 2);
  return { width: even(rw * scale), height: even(rh * scale) };
}

/** True when two sizes differ by more than `ratio` in either dimension (worth a restart). */
export function sizeChanged(
  a: { width: number; height: number },
  b: { width: number; height: number },
  ratio = 0.1,
): boolean {
  return Math.abs(a.width - b.width) > a.width * ratio || Math.abs(a.height - b.height) > a.height * ratio;
}

/**
 * Starting state: the wanted rendition but at most `startMax`, lowered while the known throughput
 * cannot carry it.
 */
export function initialAdaptive(
  input: Pick<AdaptiveInput, "now" | "paneHeight" | "available" | "throughputBps" | "sourceFps">,
  bytesPerFrameAt240 = 12_000,
  startMax: Rendition = ADAPTIVE_DEFAULTS.startMax,
): AdaptiveState {
  const av = sorted(input.available);
  let r = wantedRendition(input.paneHeight, av) ?? "240p";
  while (av.indexOf(r) > 0 && RENDITION_HEIGHT[r] > RENDITION_HEIGHT[startMax]) r = av[av.indexOf(r) - 1]!;
  if (input.throughputBps !== undefined) {
    while (
      av.indexOf(r) > 0 && estimateNeed(r, "240p", bytesPerFrameAt240, input.sourceFps) > input.throughputBps
    ) {
      r = av[av.indexOf(r) - 1]!;
    }
  }
  return { rendition: r, changedAt: input.now, goodSince: null, badSince: null };
}

/** Bytes/s that `to` would need, scaling the measured frame size at `from` by pixel count. */
export function estimateNeed(to: Rendition, from: Rendition, bytesPerFrame: number, fps: number): number {
  const k = (RENDITION_HEIGHT[to] / RENDITION_HEIGHT[from]) ** 2;
  return bytesPerFrame * k * fps;
}

/** One decision step; returns the next state (same object contents when nothing changes). */
export function adaptiveStep(
  state: AdaptiveState,
  input: AdaptiveInput,
  opts: AdaptiveOptions = ADAPTIVE_DEFAULTS,
): AdaptiveState {
  const av = sorted(input.available);
  if (av.length === 0) return state;
  const cur = av.includes(state.rendition)
    ? state.rendition
    : (wantedRendition(input.paneHeight, av) ?? av[0]!);
  const idx = av.indexOf(cur);
  const wanted = wantedRendition(input.paneHeight, av)!;
  const switchTo = (r: Rendition): AdaptiveState => ({
    rendition: r,
    changedAt: input.now,
    goodSince: null,
    badSince: null,
  });
  if (cur !== state.rendition) return switchTo(cur);
  // The pane got smaller than the rendition: go down at once.
  if (av.indexOf(wanted) < idx) return switchTo(wanted);

  const ratio = input.sourceFps > 0 ? input.deliveredFps / input.sourceFps : 1;
  const tputShort = input.throughputBps !== undefined &&
    input.bytesPerFrame * input.sourceFps > input.throughputBps * 1.05;
  const bad = ratio < opts.downRatio || tputShort;
  const good = ratio >= opts.upRatio && !tputShort;
  const next: AdaptiveState = {
    ...state,
    badSince: bad ? (state.badSince ?? input.now) : null,
    goodSince: good ? (state.goodSince ?? input.now) : null,
  };
  if (input.now - state.changedAt < opts.cooldownMs) return next;

  if (bad && idx > 0 && input.now - next.badSince! >= opts.downHoldMs) return switchTo(av[idx - 1]!);
  if (good && idx < av.indexOf(wanted) && input.now - next.goodSince! >= opts.upHoldMs) {
    const up = av[idx + 1]!;
    const need = estimateNeed(up, cur, input.bytesPerFrame, input.sourceFps);
    const linkOk = input.throughputBps === undefined || input.throughputBps >= need * opts.headroom;
    // Drawing cost grows with the pixels drawn, which the pane caps.
    const px = (r: Rendition) => Math.min(RENDITION_HEIGHT[r], input.paneHeight) ** 2;
    const viewerOk = input.viewerLoad === undefined ||
      input.viewerLoad * (px(up) / Math.max(1, px(cur))) <= opts.maxLoad;
    if (linkOk && viewerOk) return switchTo(up);
  }
  return next;
}

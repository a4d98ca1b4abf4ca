/**
 * Player overlay — pure. `PlaybackMeter` measures what the viewer actually shows (frames and
 * bytes per second over a sliding window, from an injected clock) and `formatOverlay` makes the
 * one status line: where the video is (of how long), fps, dropped frames (once there are any),
 * rendition and kbit/s, cut to the pane width (the position first, so a narrow pane keeps it).
 */

import type { Clock } from "../common/clock.ts";
import { clockText } from "../common/progress.ts";

/** What the overlay line shows. */
export interface OverlayInfo {
  /** Frames shown per second. */
  fps: number;
  /** Frames dropped so far. */
  dropped: number;
  /** The rendition being shown (e.g. "720p"). */
  rendition: string;
  /** Kilobits per second received for the frames shown. */
  kbps: number;
  /** Optional extras shown after the rest. */
  mode?: string;
  /** The renderer name (kitty, sixel, halfblock). */
  renderer?: string;
  /** True while playback is paused (the line starts with ⏸ instead of ▶). */
  paused?: boolean;
  /** Where the video is, ms (shown as m:ss after the ▶). */
  at?: number;
  /** How long the whole video is, ms (shown as "/ m:ss" after `at`; absent for a live stream). */
  length?: number;
}

/** One status line, at most `width` columns. */
export function formatOverlay(info: OverlayInfo, width = Infinity): string {
  const icon = info.paused ? "⏸" : "▶";
  const fps = `${info.fps.toFixed(1)} fps`;
  const length = info.length ? ` / ${clockText(info.length / 1000)}` : "";
  const parts = [
    // ▶ 1:05 / 3:20 · 25.0 fps, or ▶ 25.0 fps when the position is not known
    ...(info.at === undefined
      ? [`${icon} ${fps}`]
      : [`${icon} ${clockText(Math.floor(info.at / 1000))}${length}`, fps]),
    ...(info.dropped > 0 ? [`${info.dropped} dropped`] : []),
    info.rendition,
    `${Math.round(info.kbps)} kbit/s`,
  ];
  if (info.mode) parts.push(info.mode);
  if (info.renderer) parts.push(info.renderer);
  const line = parts.join(" · ");
  return [...line].length <= width ? line : [...line].slice(0, Math.max(0, width - 1)).join("") + "…";
}

/** Sliding-window rate meter for shown frames. */
export class PlaybackMeter {
  #clock: Clock;
  #windowMs: number;
  #events: { t: number; bytes: number }[] = [];
  #start: number;
  /** Frames shown since the start. */
  shown = 0;
  /** Frames dropped since the start. */
  dropped = 0;

  /** `windowMs`: the sliding window the rates are measured over (default 1 s). */
  constructor(clock: Clock, windowMs = 1000) {
    this.#clock = clock;
    this.#windowMs = windowMs;
    this.#start = clock.now();
  }

  /** A frame of `bytes` (as received) was shown. */
  frame(bytes: number): void {
    this.shown++;
    this.#events.push({ t: this.#clock.now(), bytes });
    this.#trim();
  }

  /** `n` frames were skipped (by the server's slot or by the player). */
  drop(n = 1): void {
    this.dropped += n;
  }

  /** Frames shown per second over the window. */
  fps(): number {
    this.#trim();
    return (this.#events.length * 1000) / this.#span();
  }

  /** Kilobits per second of the frames shown over the window. */
  kbps(): number {
    this.#trim();
    let b = 0;
    for (const e of this.#events) b += e.bytes;
    return (b * 8) / this.#span();
  }

  #span(): number {
    return Math.max(1, Math.min(this.#windowMs, this.#clock.now() - this.#start));
  }

  #trim(): void {
    const from = this.#clock.now() - this.#windowMs;
    while (this.#events.length > 0 && this.#events[0]!.t <= from) this.#events.shift();
  }
}

/**
 * HalfblockCanvas — the half-block renderer for a sequence of frames drawn at one screen position.
 * Pure. It remembers the two colours of every cell it last wrote and, for the next frame, writes
 * only the cells whose colours changed: a cursor move (CUP between rows, CUF within a row) to the
 * next changed cell, SGR only when a colour changes, "▀" (or a space when both halves match).
 * A frame identical to the last one writes nothing. The first frame, a frame at another position or
 * size, and the first frame after `reset()` are drawn in full. Callers call `reset()` whenever
 * something else may have painted over the picture (a full screen repaint, a cleared screen).
 * Sampling is shared with `renderHalfblock` (`sampleCells`), so both draw the same picture.
 *
 * `tolerance` (per colour channel, 0–255): a cell whose two colours are each within it of what the
 * screen shows is left as it is (what the screen shows stays the reference, so small changes add up
 * and are drawn once they exceed it). JPEG noise changes most cells a little every frame; 0 draws
 * every change exactly (the tests' byte-exact mode).
 */

import type { RgbaImage } from "./jpeg.ts";
import { cell, newPen, sampleCells } from "./render_halfblock.ts";

/**
 * The player's tolerance: on the sample, bytes per frame at 80×24 go from 11.8 to 10.1 KiB and at
 * 200×60 from 42.1 to 33.0 KiB (below timg's), with every shown colour within 8/255 per channel.
 */
export const PLAYER_TOLERANCE = 8;

/** Largest channel difference of two 0xRRGGBB colours. */
function distance(a: number, b: number): number {
  return Math.max(
    Math.abs(((a >> 16) & 255) - ((b >> 16) & 255)),
    Math.abs(((a >> 8) & 255) - ((b >> 8) & 255)),
    Math.abs((a & 255) - (b & 255)),
  );
}

export class HalfblockCanvas {
  constructor(readonly tolerance = 0) {}
  #top = new Int32Array(0);
  #bot = new Int32Array(0);
  #nextTop = new Int32Array(0);
  #nextBot = new Int32Array(0);
  #key = "";

  /** Forgets what is on the screen: the next frame is drawn in full. */
  reset(): void {
    this.#key = "";
  }

  /**
   * Draws `img` as cols×rows cells with the top-left cell at `at` (1-based), writing only what
   * changed since the last call. Returns "" when nothing changed; otherwise ends with an SGR reset.
   */
  render(img: RgbaImage, cols: number, rows: number, at: { row: number; col: number }): string {
    if (cols <= 0 || rows <= 0) return "";
    const n = cols * rows;
    if (this.#nextTop.length !== n) {
      this.#nextTop = new Int32Array(n);
      this.#nextBot = new Int32Array(n);
    }
    const top = this.#nextTop, bot = this.#nextBot;
    sampleCells(img, cols, rows, top, bot);
    const key = `${cols}x${rows}@${at.row},${at.col}`;
    const full = key !== this.#key || this.#top.length !== n;
    const pt = this.#top, pb = this.#bot;
    let out = "";
    const pen = newPen();
    const tol = this.tolerance;
    let cr = -1, cc = -1; // the cell the cursor is on (-1: unknown)
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) {
        const i = base + c;
        const t = top[i]!, b = bot[i]!;
        if (!full) {
          if (t === pt[i] && b === pb[i]) continue;
          if (tol > 0 && distance(t, pt[i]!) <= tol && distance(b, pb[i]!) <= tol) {
            top[i] = pt[i]!; // the screen keeps the old colours, and they stay the reference
            bot[i] = pb[i]!;
            continue;
          }
        }
        if (cr !== r) out += `\x1b[${at.row + r};${at.col + c}H`;
        else if (cc !== c) out += c - cc === 1 ? "\x1b[C" : `\x1b[${c - cc}C`;
        out += cell(t, b, pen);
        cr = r;
        cc = c + 1;
      }
    }
    // The arrays just drawn become the state the next frame is compared with.
    this.#nextTop = pt.length === n ? pt : new Int32Array(n);
    this.#nextBot = pb.length === n ? pb : new Int32Array(n);
    this.#top = top;
    this.#bot = bot;
    this.#key = key;
    return out ? out + "\x1b[0m" : "";
  }
}

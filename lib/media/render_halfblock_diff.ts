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

import { ByteOut } from "./byte_out.ts";
import type { RgbaImage } from "./jpeg.ts";
import { paintCells, sampleCells, sgrReset } from "./render_halfblock.ts";

/**
 * The player's tolerance: on the sample, bytes per frame at 80×24 go from 11.8 to 10.1 KiB and at
 * 200×60 from 42.1 to 33.0 KiB (below timg's), with every shown colour within 8/255 per channel.
 */
export const PLAYER_TOLERANCE = 8;

export class HalfblockCanvas {
  constructor(readonly tolerance = 0) {}
  #top = new Int32Array(0);
  #bot = new Int32Array(0);
  #nextTop = new Int32Array(0);
  #nextBot = new Int32Array(0);
  #key = "";
  readonly #out = new ByteOut();

  /** Forgets what is on the screen: the next frame is drawn in full. */
  reset(): void {
    this.#key = "";
  }

  /**
   * Draws `img` as cols×rows cells with the top-left cell at `at` (1-based), writing only what
   * changed since the last call. Returns "" when nothing changed; otherwise ends with an SGR reset.
   */
  render(img: RgbaImage, cols: number, rows: number, at: { row: number; col: number }): string {
    return new TextDecoder().decode(this.renderBytes(img, cols, rows, at));
  }

  /** `render` as bytes ready to write (empty when nothing changed); the player's path. */
  renderBytes(img: RgbaImage, cols: number, rows: number, at: { row: number; col: number }): Uint8Array {
    if (cols <= 0 || rows <= 0) return new Uint8Array(0);
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
    const out = this.#out;
    out.reset();
    paintCells(out, top, bot, cols, rows, at, full ? null : pt, full ? null : pb, this.tolerance);
    // The arrays just drawn become the state the next frame is compared with.
    this.#nextTop = pt.length === n ? pt : new Int32Array(n);
    this.#nextBot = pb.length === n ? pb : new Int32Array(n);
    this.#top = top;
    this.#bot = bot;
    this.#key = key;
    if (out.length === 0) return new Uint8Array(0);
    sgrReset(out);
    return out.bytes();
  }
}

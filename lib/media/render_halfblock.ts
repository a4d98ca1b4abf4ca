/**
 * Half-block renderer — pure. Draws RGBA (or RGB, `channels` 3) as cols×rows terminal cells, each cell "▀" with the
 * upper pixel as 24-bit foreground and the lower as background (a cell whose two pixels match
 * becomes a space with only a background). SGR is written only when a colour changes. The image
 * is sampled nearest-neighbour to cols × 2·rows pixels (callers fit the aspect ratio beforehand).
 * Cells are written as bytes into a `ByteOut` by `paintCells`, the one loop it shares with the
 * diffing canvas.
 */

import { ByteOut, putNumAt, putRgbAt } from "./byte_out.ts";
import type { RgbaImage } from "./jpeg.ts";

export interface HalfblockOptions {
  /** 1-based screen position of the top-left cell; when set each row starts with a cursor move. */
  at?: { row: number; col: number };
}

/**
 * Samples `img` nearest-neighbour into cols×rows cells: `top[i]` and `bot[i]` receive the 0xRRGGBB
 * colours of the upper and lower half of cell i (row-major). The one sampling rule of both renderers.
 */
export function sampleCells(
  img: RgbaImage,
  cols: number,
  rows: number,
  top: Int32Array,
  bot: Int32Array,
): void {
  const d = img.data, w = img.width, h = img.height, px = img.channels ?? 4; // RGBA or RGB
  const xs = new Int32Array(cols);
  for (let x = 0; x < cols; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / cols)) * px;
  for (let r = 0; r < rows; r++) {
    const ti = Math.min(h - 1, Math.floor(((2 * r + 0.5) * h) / (2 * rows))) * w * px;
    const bi = Math.min(h - 1, Math.floor(((2 * r + 1.5) * h) / (2 * rows))) * w * px;
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const i = ti + xs[c]!, j = bi + xs[c]!;
      top[base + c] = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
      bot[base + c] = (d[j]! << 16) | (d[j + 1]! << 8) | d[j + 2]!;
    }
  }
}

const enc = new TextEncoder();
const RESET = enc.encode("\x1b[0m");
/** Per row at most: a cursor move (CUP, 2 + 5 + 1 + 5 + 1 bytes) or CR LF with a reset (6), then per cell a move (CUF, 8) and SGR for both colours (7 + 11 + 6 + 11 + 1) and "▀" (3). */
const ROW_EXTRA = 16;
const CELL_MAX = 47;

/**
 * The one loop of both half-block renderers: writes the cells of `top`/`bot` (0xRRGGBB, cols×rows,
 * row-major) into `out`. Each cell is "▀" with the upper colour as foreground and the lower as
 * background, or a space on the background when both match, preceded by SGR for only the colours
 * that differ from the pen (the colours in effect, kept from cell to cell and across cursor moves).
 *
 * With `prevTop`/`prevBot` (what the screen shows) only cells whose colours changed are written,
 * reached by a cursor move (CUP to a new row, CUF within one — "\x1b[C" for one column); with
 * `tol` > 0 a cell whose two colours are each within it of the screen's is left, and `top`/`bot`
 * take the screen's colours for it (they stay the reference). Without them every cell is written:
 * each row starts with a CUP when `at` is given, else rows are joined by an SGR reset and CR LF
 * (reset first: a scroll must not paint the new line), the pen forgotten. Writes no final reset.
 * One function with its loops and writes inline (its few small writers, putCup and putBg, are inlined by
 * V8 with it): V8 optimises it on the first frame's loop (on-stack replacement), where a call per cell
 * ran unoptimised for the first hundreds of frames.
 */
export function paintCells(
  out: ByteOut,
  top: Int32Array,
  bot: Int32Array,
  cols: number,
  rows: number,
  at: { row: number; col: number } | null,
  prevTop: Int32Array | null,
  prevBot: Int32Array | null,
  tol: number,
): void {
  const diff = prevTop !== null && prevBot !== null;
  let fg = -1, bg = -1; // the pen (-1: unknown)
  let cr = -1, cc = -1; // the cell the cursor is on (-1: unknown)
  let n = out.length;
  for (let r = 0; r < rows; r++) {
    const buf = out.room(n - out.length + ROW_EXTRA + cols * CELL_MAX);
    const base = r * cols;
    if (!at && r > 0) {
      n = put6(buf, n, 0x1b, 0x5b, 0x30, 0x6d, 0x0d, 0x0a); // ESC [ 0 m CR LF
      fg = bg = -1;
    }
    for (let c = 0; c < cols; c++) {
      const i = base + c;
      const t = top[i]!, b = bot[i]!;
      if (diff) {
        const ot = prevTop![i]!, ob = prevBot![i]!;
        if (t === ot && b === ob) continue;
        if (tol > 0 && near(t, ot, tol) && near(b, ob, tol)) {
          top[i] = ot; // the screen keeps the old colours, and they stay the reference
          bot[i] = ob;
          continue;
        }
      }
      if (at) {
        if (cr !== r) {
          n = putCup(buf, n, at.row + r, at.col + c);
        } else if (cc !== c) {
          buf[n++] = 0x1b;
          buf[n++] = 0x5b;
          if (c - cc !== 1) n = putNumAt(buf, n, c - cc);
          buf[n++] = 0x43; // C
        }
        cr = r;
        cc = c + 1;
      }
      if (t === b) {
        if (b !== bg) {
          bg = b;
          n = putBg(buf, n, b);
        }
        buf[n++] = 0x20;
        continue;
      }
      if (t !== fg) {
        n = put6(buf, n, 0x1b, 0x5b, 0x33, 0x38, 0x3b, 0x32); // ESC [ 3 8 ; 2
        buf[n++] = 0x3b;
        n = putRgbAt(buf, n, t);
        if (b !== bg) {
          n = put6(buf, n, 0x3b, 0x34, 0x38, 0x3b, 0x32, 0x3b); // ; 4 8 ; 2 ;
          n = putRgbAt(buf, n, b);
        }
        buf[n++] = 0x6d;
      } else if (b !== bg) {
        n = putBg(buf, n, b);
      }
      fg = t;
      bg = b;
      buf[n++] = 0xe2; // "▀" in UTF-8
      buf[n++] = 0x96;
      buf[n++] = 0x80;
    }
    out.setLength(n);
  }
}

/** Writes CUP to 1-based `row`, `col` at `n` (ESC [ row ; col H); returns the index after it. */
function putCup(buf: Uint8Array, n: number, row: number, col: number): number {
  buf[n++] = 0x1b;
  buf[n++] = 0x5b;
  n = putNumAt(buf, n, row);
  buf[n++] = 0x3b;
  n = putNumAt(buf, n, col);
  buf[n++] = 0x48; // H
  return n;
}

/** Writes SGR for background `rgb` (0xRRGGBB) at `n` (ESC [ 4 8 ; 2 ; r ; g ; b m); returns the index after it. */
function putBg(buf: Uint8Array, n: number, rgb: number): number {
  n = put6(buf, n, 0x1b, 0x5b, 0x34, 0x38, 0x3b, 0x32); // ESC [ 4 8 ; 2
  buf[n++] = 0x3b;
  n = putRgbAt(buf, n, rgb);
  buf[n++] = 0x6d; // m
  return n;
}

/** Writes six bytes at `n`; returns the index after them. */
function put6(buf: Uint8Array, n: number, a: number, b: number, c: number, d: number, e: number, f: number) {
  buf[n] = a;
  buf[n + 1] = b;
  buf[n + 2] = c;
  buf[n + 3] = d;
  buf[n + 4] = e;
  buf[n + 5] = f;
  return n + 6;
}

/** True when every channel of two 0xRRGGBB colours differs by at most `tol`. */
function near(a: number, b: number, tol: number): boolean {
  const r = ((a >> 16) & 255) - ((b >> 16) & 255);
  const g = ((a >> 8) & 255) - ((b >> 8) & 255);
  const l = (a & 255) - (b & 255);
  return r <= tol && r >= -tol && g <= tol && g >= -tol && l <= tol && l >= -tol;
}

/** Writes the SGR reset that ends every drawing. */
export function sgrReset(out: ByteOut): void {
  out.put(RESET);
}

/** Renders `img` into exactly cols×rows cells; ends with an SGR reset. */
export function renderHalfblock(
  img: RgbaImage,
  cols: number,
  rows: number,
  opts: HalfblockOptions = {},
): string {
  if (cols <= 0 || rows <= 0) return "";
  const top = new Int32Array(cols * rows), bot = new Int32Array(cols * rows);
  sampleCells(img, cols, rows, top, bot);
  const out = new ByteOut(cols * rows * 24);
  paintCells(out, top, bot, cols, rows, opts.at ?? null, null, null, 0);
  sgrReset(out);
  return new TextDecoder().decode(out.bytes());
}

/**
 * Half-block renderer — pure. Draws RGBA (or RGB, `channels` 3) as cols×rows terminal cells, each cell "▀" with the
 * upper pixel as 24-bit foreground and the lower as background (a cell whose two pixels match
 * becomes a space with only a background). SGR is written only when a colour changes. The image
 * is sampled nearest-neighbour to cols × 2·rows pixels (callers fit the aspect ratio beforehand).
 * Cells are written as bytes into a `ByteOut` (`cell`, `cursorTo`, `cursorRight`), shared with the
 * diffing canvas.
 */

import { ByteOut } from "./byte_out.ts";
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

/** The colours in effect on the terminal (-1: unknown). */
export interface Pen {
  fg: number;
  bg: number;
}

export const newPen = (): Pen => ({ fg: -1, bg: -1 });

const enc = new TextEncoder();
const SGR_FG = enc.encode("\x1b[38;2;");
const SGR_BG = enc.encode("\x1b[48;2;");
const FG_BG = enc.encode(";48;2;");
const UPPER = enc.encode("▀");
const RESET = enc.encode("\x1b[0m");
const CRLF_RESET = enc.encode("\x1b[0m\r\n");

/**
 * Writes one cell with upper colour `t` and lower colour `b`: "▀" (or a space on the background
 * when both match), preceded by SGR only for the colours that differ from `pen`, which it updates.
 */
export function cell(out: ByteOut, t: number, b: number, pen: Pen): void {
  if (t === b) {
    if (b !== pen.bg) {
      pen.bg = b;
      out.put(SGR_BG);
      out.rgb(b);
      out.byte(0x6d); // m
    }
    out.byte(0x20);
    return;
  }
  if (t !== pen.fg) {
    out.put(SGR_FG);
    out.rgb(t);
    if (b !== pen.bg) {
      out.put(FG_BG);
      out.rgb(b);
    }
    out.byte(0x6d);
  } else if (b !== pen.bg) {
    out.put(SGR_BG);
    out.rgb(b);
    out.byte(0x6d);
  }
  pen.fg = t;
  pen.bg = b;
  out.put(UPPER);
}

/** Writes a cursor move to 1-based `row`, `col` (CUP). */
export function cursorTo(out: ByteOut, row: number, col: number): void {
  out.byte(0x1b);
  out.byte(0x5b);
  out.num(row);
  out.byte(0x3b);
  out.num(col);
  out.byte(0x48); // H
}

const CUF1 = enc.encode("\x1b[C");

/** Writes a cursor move `n` columns to the right (CUF; the one-byte-shorter form for one column). */
export function cursorRight(out: ByteOut, n: number): void {
  if (n === 1) return out.put(CUF1);
  out.byte(0x1b);
  out.byte(0x5b);
  out.num(n);
  out.byte(0x43); // C
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
  const pen = newPen();
  for (let r = 0; r < rows; r++) {
    if (opts.at) cursorTo(out, opts.at.row + r, opts.at.col); // colours survive a cursor move
    else if (r > 0) {
      out.put(CRLF_RESET); // reset first: a scroll must not paint the new line
      pen.fg = pen.bg = -1;
    }
    const base = r * cols;
    for (let c = 0; c < cols; c++) cell(out, top[base + c]!, bot[base + c]!, pen);
  }
  sgrReset(out);
  return new TextDecoder().decode(out.bytes());
}

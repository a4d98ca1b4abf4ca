/**
 * Half-block renderer — pure. Draws RGBA as cols×rows terminal cells, each cell "▀" with the
 * upper pixel as 24-bit foreground and the lower as background (a cell whose two pixels match
 * becomes a space with only a background). SGR is written only when a colour changes. The image
 * is sampled nearest-neighbour to cols × 2·rows pixels (callers fit the aspect ratio beforehand).
 */

import type { RgbaImage } from "./jpeg.ts";

const NUM: string[] = Array.from({ length: 256 }, (_, i) => String(i));

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
  const d = img.data, w = img.width, h = img.height;
  const xs = new Int32Array(cols);
  for (let x = 0; x < cols; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / cols)) * 4;
  for (let r = 0; r < rows; r++) {
    const ti = Math.min(h - 1, Math.floor(((2 * r + 0.5) * h) / (2 * rows))) * w * 4;
    const bi = Math.min(h - 1, Math.floor(((2 * r + 1.5) * h) / (2 * rows))) * w * 4;
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const i = ti + xs[c]!, j = bi + xs[c]!;
      top[base + c] = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
      bot[base + c] = (d[j]! << 16) | (d[j + 1]! << 8) | d[j + 2]!;
    }
  }
}

/** "R;G;B" decimal parameters of a 0xRRGGBB colour, for SGR 38;2 and 48;2. */
export function rgb(c: number): string {
  return `${NUM[(c >> 16) & 255]};${NUM[(c >> 8) & 255]};${NUM[c & 255]}`;
}

/** The colours in effect on the terminal (-1: unknown). */
export interface Pen {
  fg: number;
  bg: number;
}

export const newPen = (): Pen => ({ fg: -1, bg: -1 });

/**
 * One cell with upper colour `t` and lower colour `b`: "▀" (or a space on the background when
 * both match), preceded by SGR only for the colours that differ from `pen`, which it updates.
 */
export function cell(t: number, b: number, pen: Pen): string {
  if (t === b) {
    if (b === pen.bg) return " ";
    pen.bg = b;
    return `\x1b[48;2;${rgb(b)}m `;
  }
  let sgr = "";
  if (t !== pen.fg && b !== pen.bg) sgr = `\x1b[38;2;${rgb(t)};48;2;${rgb(b)}m`;
  else if (t !== pen.fg) sgr = `\x1b[38;2;${rgb(t)}m`;
  else if (b !== pen.bg) sgr = `\x1b[48;2;${rgb(b)}m`;
  pen.fg = t;
  pen.bg = b;
  return sgr + "▀";
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
  const parts: string[] = [];
  const pen = newPen();
  for (let r = 0; r < rows; r++) {
    let line: string;
    if (opts.at) line = `\x1b[${opts.at.row + r};${opts.at.col}H`; // colours survive a cursor move
    else if (r === 0) line = "";
    else {
      line = "\x1b[0m\r\n"; // reset first: a scroll must not paint the new line
      pen.fg = pen.bg = -1;
    }
    const base = r * cols;
    for (let c = 0; c < cols; c++) line += cell(top[base + c]!, bot[base + c]!, pen);
    parts.push(line);
  }
  return parts.join("") + "\x1b[0m";
}

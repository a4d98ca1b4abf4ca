/**
 * Sixel renderer — pure. Quantizes RGBA (or RGB, `channels` 3) to a fixed RGB-cube palette (default 4×4×4 = 64 colours,
 * sized for speed: fewer colours means fewer passes per six-pixel band) with optional 4×4 ordered
 * dithering, then writes DCS `ESC P 0;1;0 q`, raster attributes, the palette, the bands with
 * run-length encoding, and ST `ESC \`. Returns bytes ready to write. A player keeps one
 * `SixelEncoder`: its palette (definitions and level table) is built once and reused for every
 * frame, and its per-band scratch is sized to the picture's width (the pane's, as the painter
 * scales to the pane first) and kept while that stays the same.
 */

import type { RgbaImage } from "./jpeg.ts";

export interface SixelOptions {
  /** Levels per channel of the palette cube (2…6); default 4 (64 colours). */
  levels?: number;
  /** 4×4 ordered dithering; default true. */
  dither?: boolean;
  /** 1-based screen position; a cursor move is written first. */
  at?: { row: number; col: number };
}

const BAYER4 = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];
const enc = new TextEncoder();
const tables = new Map<string, Uint8Array>();

/** For each (threshold 0..15, value 0..255): the channel level 0..levels-1. */
function levelTable(levels: number, dither: boolean): Uint8Array {
  const key = `${levels}/${dither}`;
  let t = tables.get(key);
  if (t) return t;
  t = new Uint8Array(16 * 256);
  const step = 255 / (levels - 1);
  for (let k = 0; k < 16; k++) {
    const bias = dither ? ((BAYER4[k]! + 0.5) / 16 - 0.5) * step : 0;
    for (let v = 0; v < 256; v++) {
      t[k * 256 + v] = Math.max(0, Math.min(levels - 1, Math.round((v + bias) / step)));
    }
  }
  tables.set(key, t);
  return t;
}

/** The palette as `#i;2;r;g;b` (percent) definitions. */
function paletteBytes(levels: number): string {
  let s = "";
  const pct = (l: number) => Math.round((l * 100) / (levels - 1));
  for (let r = 0, i = 0; r < levels; r++) {
    for (let g = 0; g < levels; g++) {
      for (let b = 0; b < levels; b++, i++) s += `#${i};2;${pct(r)};${pct(g)};${pct(b)}`;
    }
  }
  return s;
}

/** Encodes `img` as a sixel image (a one-off encoder; a player keeps a `SixelEncoder`). */
export function renderSixel(img: RgbaImage, opts: SixelOptions = {}): Uint8Array {
  return new SixelEncoder(opts).encode(img, opts.at);
}

export class SixelEncoder {
  readonly levels: number;
  readonly #table: Uint8Array;
  readonly #palette: string;
  #bits = new Uint8Array(0);
  #pos = new Int32Array(0);
  #idx = new Uint8Array(0);
  /** Palettes built (one per encoder; tests check frames reuse it). */
  static paletteBuilds = 0;

  constructor(opts: Omit<SixelOptions, "at"> = {}) {
    this.levels = Math.max(2, Math.min(6, opts.levels ?? 4));
    this.#table = levelTable(this.levels, opts.dither ?? true);
    this.#palette = paletteBytes(this.levels);
    SixelEncoder.paletteBuilds++;
  }

  /** The palette definitions every frame carries (built once). */
  get palette(): string {
    return this.#palette;
  }

  encode(img: RgbaImage, at?: { row: number; col: number }): Uint8Array {
    const levels = this.levels, nColors = levels ** 3;
    const w = img.width, h = img.height;
    const head = enc.encode(
      (at ? `\x1b[${at.row};${at.col}H` : "") + `\x1bP0;1;0q"1;1;${w};${h}` + this.#palette,
    );
    let out = new Uint8Array(head.length + w * h + 4096);
    out.set(head);
    let o = head.length;
    const ensure = (n: number) => {
      if (o + n <= out.length) return;
      const bigger = new Uint8Array(Math.max(out.length * 2, o + n));
      bigger.set(out.subarray(0, o));
      out = bigger;
    };
    if (this.#bits.length !== nColors * w) {
      this.#bits = new Uint8Array(nColors * w);
      this.#pos = new Int32Array(nColors * w);
    }
    // Per colour, the columns where it occurs in this band (in order) and its six bits there: a
    // colour's pass costs its own pixels, not the picture's width.
    const bits = this.#bits, pos = this.#pos;
    const count = new Int32Array(nColors), lastX = new Int32Array(nColors);
    const used: number[] = [];
    if (this.#idx.length !== 6 * w) this.#idx = new Uint8Array(6 * w);
    const idx = this.#idx;
    for (let y0 = 0; y0 < h; y0 += 6) {
      const bandH = Math.min(6, h - y0);
      used.length = 0;
      count.fill(0);
      lastX.fill(-1);
      this.#indexBand(img, y0, bandH); // the band's colour indexes, row by row (sequential reads)…
      // …then column by column, so each colour's columns come out in order.
      for (let x = 0; x < w; x++) {
        for (let dy = 0; dy < bandH; dy++) {
          const c = idx[dy * w + x]!, at = c * w + x;
          if (lastX[c] !== x) {
            if (count[c] === 0) used.push(c);
            pos[c * w + count[c]!++] = x;
            lastX[c] = x;
            bits[at] = 1 << dy;
          } else bits[at]! |= 1 << dy;
        }
      }
      used.sort((a, b) => a - b);
      for (let u = 0; u < used.length; u++) {
        const c = used[u]!, base = c * w, n = count[c]!;
        ensure(8 + n * 12);
        if (u > 0) out[o++] = 0x24; // $ : back to the band's start
        out[o++] = 0x23; // #
        o = writeNum(out, o, c);
        // Blanks before each occurrence and every run of equal sixels: RLE when it saves bytes.
        let next = 0; // the first column not yet written
        for (let j = 0; j < n;) {
          const x = pos[base + j]!;
          if (x > next) o = writeRun(out, o, x - next, 63);
          const v = bits[base + x]!;
          let run = 1;
          while (j + run < n && pos[base + j + run] === x + run && bits[base + x + run] === v) run++;
          o = writeRun(out, o, run, 63 + v);
          j += run;
          next = x + run;
        }
      }
      if (y0 + 6 < h) {
        ensure(1);
        out[o++] = 0x2d; // - : next band
      }
    }
    ensure(2);
    out[o++] = 0x1b;
    out[o++] = 0x5c;
    return out.subarray(0, o);
  }

  /**
   * Writes the palette index of each pixel of rows y0 … y0+bandH-1 into `#idx` (dithered, row-major),
   * reading RGBA or RGB (`channels` 3) in place.
   */
  #indexBand(img: RgbaImage, y0: number, bandH: number): void {
    const levels = this.levels, l2 = levels * levels, table = this.#table, idx = this.#idx;
    const w = img.width, d = img.data, px = img.channels ?? 4, stride = w * px;
    for (let dy = 0; dy < bandH; dy++) {
      const y = y0 + dy, row = y * stride, ty = (y & 3) * 4, ir = dy * w;
      for (let x = 0; x < w; x++) {
        const i = row + x * px, k = (ty + (x & 3)) * 256;
        idx[ir + x] = table[k + d[i]!]! * l2 + table[k + d[i + 1]!]! * levels + table[k + d[i + 2]!]!;
      }
    }
  }
}

/** `run` copies of sixel `ch`, as `!n` + ch when longer than three. */
function writeRun(out: Uint8Array, o: number, run: number, ch: number): number {
  if (run > 3) {
    out[o++] = 0x21; // !
    o = writeNum(out, o, run);
    out[o++] = ch;
  } else for (let r = 0; r < run; r++) out[o++] = ch;
  return o;
}

function writeNum(out: Uint8Array, o: number, n: number): number {
  if (n >= 10000) {
    for (const ch of String(n)) out[o++] = ch.charCodeAt(0);
    return o;
  }
  if (n >= 1000) out[o++] = 48 + Math.floor(n / 1000) % 10;
  if (n >= 100) out[o++] = 48 + Math.floor(n / 100) % 10;
  if (n >= 10) out[o++] = 48 + Math.floor(n / 10) % 10;
  out[o++] = 48 + n % 10;
  return o;
}

/**
 * Sixel renderer — pure. Quantizes RGBA (or RGB, `channels` 3) to a fixed RGB-cube palette (default 4×4×4 = 64 colours,
 * sized for speed: fewer colours means fewer passes per six-pixel band) with optional 4×4 ordered
 * dithering, then writes DCS `ESC P 0;1;0 q`, raster attributes, the palette, the bands with
 * run-length encoding, and ST `ESC \`. Returns bytes ready to write. A player keeps one
 * `SixelEncoder`: its palette (definitions and per-channel level tables) is built once and reused for
 * every frame, and its per-band scratch is sized to the picture's width (the pane's, as the painter
 * scales to the pane first) and kept while that stays the same. Each band is read once, column by
 * column, straight into per-colour column lists; colours absent from a band cost nothing. An
 * encoder made ahead of the first frame may warm up (`warm`) so that frame runs compiled code.
 */

import type { RgbaImage } from "./jpeg.ts";

export interface SixelOptions {
  /** Levels per channel of the palette cube (2…6); default 4 (64 colours). */
  levels?: number;
  /** 4×4 ordered dithering; default true. */
  dither?: boolean;
  /** 1-based screen position; a cursor move is written first. */
  at?: { row: number; col: number };
  /**
   * A `SixelEncoder` encodes a small made-up picture when made, so the engine compiles its loops
   * before the first real frame; for an encoder made ahead of time (default false).
   */
  warm?: boolean;
}

/**
 * The warm-up: a small picture encoded several times (the engine optimizes a function after enough
 * calls, not only its hot loops): 160×24 × 8 measured best in tests/bench/sixel_encode.ts.
 */
const WARM_W = 160, WARM_H = 24, WARM_TIMES = 8;

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
  /** Per (threshold, value): the red, green and blue level already weighted by its place in the index. */
  readonly #red: Uint8Array;
  readonly #green: Uint8Array;
  readonly #blue: Uint8Array;
  readonly #palette: string;
  /** Per colour of the band: its six bits at each column (valid where it occurs). */
  #bits = new Uint8Array(0);
  /** Per colour of the band: the columns where it occurs, in order (`#count` of them). */
  #pos = new Int32Array(0);
  #count: Int32Array;
  /** Per colour: the last column it was seen in (-1: not in this band). */
  #lastX: Int32Array;
  /** Palettes built (one per encoder; tests check frames reuse it). */
  static paletteBuilds = 0;
  /** Warm-ups run (`warm`; tests check which painters pay for one). */
  static warmUps = 0;

  constructor(opts: Omit<SixelOptions, "at"> = {}) {
    const levels = this.levels = Math.max(2, Math.min(6, opts.levels ?? 4));
    const table = levelTable(levels, opts.dither ?? true);
    this.#red = table.map((l) => l * levels * levels);
    this.#green = table.map((l) => l * levels);
    this.#blue = table;
    this.#palette = paletteBytes(levels);
    this.#count = new Int32Array(levels ** 3);
    this.#lastX = new Int32Array(levels ** 3).fill(-1);
    SixelEncoder.paletteBuilds++;
    if (opts.warm) this.#warmUp();
  }

  /**
   * Encodes a small made-up RGB picture once, so the engine has compiled the encoder's loops before
   * the first real frame (issue 75: an early painter is made while the play request travels).
   */
  #warmUp(): void {
    SixelEncoder.warmUps++;
    const w = WARM_W, h = WARM_H, data = new Uint8Array(w * h * 3);
    // Flat stretches (long runs) on the left, noise (short ones) on the right, to exercise every path.
    for (let i = 0; i < data.length; i++) {
      data[i] = (i % (w * 3)) < w ? (i >> 9) * 40 & 255 : (i * 97 + (i >> 7) * 31) & 255;
    }
    const img = { width: w, height: h, data, channels: 3 as const };
    for (let n = 0; n < WARM_TIMES; n++) this.encode(img, { row: 1, col: 1 });
  }

  /** The palette definitions every frame carries (built once). */
  get palette(): string {
    return this.#palette;
  }

  encode(img: RgbaImage, at?: { row: number; col: number }): Uint8Array {
    const nColors = this.levels ** 3;
    const w = img.width, h = img.height;
    const head = enc.encode(
      (at ? `\x1b[${at.row};${at.col}H` : "") + `\x1bP0;1;0q"1;1;${w};${h}` + this.#palette,
    );
    let out = new Uint8Array(head.length + w * h + 4096);
    out.set(head);
    let o = head.length;
    if (this.#bits.length !== nColors * w) {
      this.#bits = new Uint8Array(nColors * w);
      this.#pos = new Int32Array(nColors * w);
    }
    const bits = this.#bits, pos = this.#pos, count = this.#count, lastX = this.#lastX;
    for (let y0 = 0; y0 < h; y0 += 6) {
      this.#collectBand(img, y0, Math.min(6, h - y0));
      // The colours in index order (those absent from the band skipped), each from the band's start.
      let first = true;
      for (let c = 0; c < nColors; c++) {
        const n = count[c]!;
        if (n === 0) continue;
        if (o + 8 + n * 12 > out.length) out = grow(out, o, 8 + n * 12);
        if (!first) out[o++] = 0x24; // $ : back to the band's start
        first = false;
        out[o++] = 0x23; // #
        o = writeNum(out, o, c);
        o = writeColour(out, o, bits, pos, c * w, n);
        count[c] = 0;
        lastX[c] = -1;
      }
      if (y0 + 6 < h) {
        if (o + 1 > out.length) out = grow(out, o, 1);
        out[o++] = 0x2d; // - : next band
      }
    }
    if (o + 2 > out.length) out = grow(out, o, 2);
    out[o++] = 0x1b;
    out[o++] = 0x5c;
    return out.subarray(0, o);
  }

  /**
   * One pass over rows y0 … y0+bandH-1, column by column (RGBA, or RGB with `channels` 3, read in
   * place): each pixel's dithered palette index, gathered per colour as the columns it occurs in
   * (in order) and its six bits there — a colour's output then costs its own pixels, not the width.
   */
  #collectBand(img: RgbaImage, y0: number, bandH: number): void {
    const red = this.#red, green = this.#green, blue = this.#blue;
    const bits = this.#bits, pos = this.#pos, count = this.#count, lastX = this.#lastX;
    const w = img.width, d = img.data, px = img.channels ?? 4, stride = w * px;
    for (let x = 0; x < w; x++) {
      const kx = x & 3;
      let i = y0 * stride + x * px;
      for (let dy = 0; dy < bandH; dy++, i += stride) {
        const k = ((((y0 + dy) & 3) << 2) | kx) << 8;
        const c = red[k + d[i]!]! + green[k + d[i + 1]!]! + blue[k + d[i + 2]!]!;
        const at = c * w + x;
        if (lastX[c] !== x) {
          pos[c * w + count[c]!++] = x;
          lastX[c] = x;
          bits[at] = 1 << dy;
        } else bits[at]! |= 1 << dy;
      }
    }
  }
}

/** A copy of `out`'s first `o` bytes in a buffer with room for `n` more. */
function grow(out: Uint8Array, o: number, n: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(Math.max(out.length * 2, o + n));
  bigger.set(out.subarray(0, o));
  return bigger;
}

/**
 * One colour's sixels in a band: blanks before each occurrence and every run of equal sixels, as
 * RLE when that saves bytes. `pos[base …]` holds its `n` columns, `bits[base + x]` its bits there.
 */
function writeColour(
  out: Uint8Array,
  o: number,
  bits: Uint8Array,
  pos: Int32Array,
  base: number,
  n: number,
): number {
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
  return o;
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

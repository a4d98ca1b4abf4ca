/**
 * Kitty graphics renderer — pure. Encodes RGBA as one kitty "transmit and display" command
 * (`a=T`), raw RGB (`f=24`) or RGBA (`f=32`), base64 in chunks of at most 4096 characters, each in
 * its own APC (`ESC _G … ESC \`): the first carries the keys and `m=1`, the middle ones `m=1`, the
 * last `m=0`. Quiet (`q=2`), cursor left in place (`C=1`); reusing the image id replaces the
 * previous frame. With `compress`, the pixels are RGBA deflated with zlib (`o=z`, level 1: a
 * frame costs a few ms and is sent in a fraction of the bytes) and the base64 of that is chunked
 * the same way. Returns bytes ready to write.
 */

import { deflateSync } from "node:zlib";
import type { RgbaImage } from "./jpeg.ts";

export const KITTY_CHUNK = 4096;

export interface KittyOptions {
  /** Image id (1 … 2³²−1); the same id replaces the previous frame. */
  id: number;
  /** 24: RGB (smaller), 32: RGBA. Default 24. */
  format?: 24 | 32;
  /** Display over this many cells (the terminal scales); default: the image's own pixel size. */
  cols?: number;
  rows?: number;
  /** 1-based screen position; a cursor move is written first. */
  at?: { row: number; col: number };
  /** Send RGBA deflated with zlib (`o=z`; `format` is then 32). */
  compress?: boolean;
}

const B64 = new TextEncoder().encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const enc = new TextEncoder();

/** Encodes `img` as kitty graphics escape sequences. */
export function renderKitty(img: RgbaImage, opts: KittyOptions): Uint8Array {
  if (opts.compress) return renderKittyZ(img, opts);
  const format = opts.format ?? 24;
  const bpp = format === 24 ? 3 : 4;
  const rawLen = img.width * img.height * bpp;
  const b64Len = Math.ceil(rawLen / 3) * 4;
  const nChunks = Math.max(1, Math.ceil(b64Len / KITTY_CHUNK));
  const pre = head(img, opts, format);
  const out = new Uint8Array(pre.length + b64Len + nChunks * 12 + 8);
  out.set(pre, 0);
  let o = pre.length;
  const d = img.data;
  let src = 0; // next source byte (RGB: next pixel × 4)
  let remaining = rawLen;
  for (let c = 0; c < nChunks; c++) {
    o = chunkStart(out, o, c, nChunks);
    if (bpp === 3) {
      // One RGB pixel is exactly one base64 quad (alpha skipped).
      for (let q = Math.min(KITTY_CHUNK / 4, remaining / 3); q > 0; q--, src += 4) {
        const a = d[src]!, b = d[src + 1]!, e = d[src + 2]!;
        out[o++] = B64[a >> 2]!;
        out[o++] = B64[((a & 3) << 4) | (b >> 4)]!;
        out[o++] = B64[((b & 15) << 2) | (e >> 6)]!;
        out[o++] = B64[e & 63]!;
        remaining -= 3;
      }
    } else {
      for (let q = Math.min(KITTY_CHUNK / 4, Math.ceil(remaining / 3)); q > 0; q--, src += 3) {
        const k = Math.min(3, remaining);
        const a = d[src]!, b = k > 1 ? d[src + 1]! : 0, e = k > 2 ? d[src + 2]! : 0;
        out[o++] = B64[a >> 2]!;
        out[o++] = B64[((a & 3) << 4) | (b >> 4)]!;
        out[o++] = k > 1 ? B64[((b & 15) << 2) | (e >> 6)]! : 0x3d;
        out[o++] = k > 2 ? B64[e & 63]! : 0x3d;
        remaining -= k;
      }
    }
    out[o++] = 0x1b;
    out[o++] = 0x5c; // ESC \
  }
  return out.subarray(0, o);
}

function head(img: RgbaImage, opts: KittyOptions, format: number, extra = ""): Uint8Array {
  let keys = `a=T,f=${format},s=${img.width},v=${img.height},i=${opts.id},q=2,C=1${extra}`;
  if (opts.cols) keys += `,c=${opts.cols}`;
  if (opts.rows) keys += `,r=${opts.rows}`;
  return enc.encode((opts.at ? `\x1b[${opts.at.row};${opts.at.col}H` : "") + `\x1b_G${keys},m=`);
}

/** RGBA deflated (`o=z`), then base64 in chunks of KITTY_CHUNK characters. */
function renderKittyZ(img: RgbaImage, opts: KittyOptions): Uint8Array {
  const d = img.data;
  const z = deflateSync(new Uint8Array(d.buffer, d.byteOffset, img.width * img.height * 4), { level: 1 });
  const pre = head(img, opts, 32, ",o=z");
  const b64Len = Math.ceil(z.length / 3) * 4;
  const nChunks = Math.max(1, Math.ceil(b64Len / KITTY_CHUNK));
  const out = new Uint8Array(pre.length + b64Len + nChunks * 12);
  out.set(pre, 0);
  let o = pre.length, src = 0;
  const perChunk = (KITTY_CHUNK / 4) * 3; // source bytes per full chunk
  for (let c = 0; c < nChunks; c++) {
    o = chunkStart(out, o, c, nChunks);
    const end = Math.min(z.length, src + perChunk);
    for (; src + 3 <= end; src += 3) {
      const a = z[src]!, b = z[src + 1]!, e = z[src + 2]!;
      out[o++] = B64[a >> 2]!;
      out[o++] = B64[((a & 3) << 4) | (b >> 4)]!;
      out[o++] = B64[((b & 15) << 2) | (e >> 6)]!;
      out[o++] = B64[e & 63]!;
    }
    if (src < end) { // the last 1 or 2 bytes of the payload, padded
      const a = z[src]!, b = src + 1 < end ? z[src + 1]! : 0;
      out[o++] = B64[a >> 2]!;
      out[o++] = B64[((a & 3) << 4) | (b >> 4)]!;
      out[o++] = src + 1 < end ? B64[(b & 15) << 2]! : 0x3d;
      out[o++] = 0x3d;
      src = end;
    }
    out[o++] = 0x1b;
    out[o++] = 0x5c; // ESC \
  }
  return out.subarray(0, o);
}

/** Deletes the image with this id (and its placements) — e.g. when the player closes. */
export function kittyDelete(id: number): Uint8Array {
  return enc.encode(`\x1b_Ga=d,d=I,i=${id},q=2\x1b\\`);
}

/** Writes the start of chunk `c` of `n` at `o` (after the first: `ESC _ G m=`; then `1;` or, last, `0;`). */
function chunkStart(out: Uint8Array, o: number, c: number, n: number): number {
  if (c > 0) {
    out.set([0x1b, 0x5f, 0x47, 0x6d, 0x3d], o); // ESC _ G m =
    o += 5;
  }
  out[o++] = c === n - 1 ? 0x30 : 0x31;
  out[o++] = 0x3b; // ;
  return o;
}

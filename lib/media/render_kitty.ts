/**
 * Kitty graphics renderer — pure. Encodes an image (RGBA, or RGB when the decoder made it so:
 * `channels` 3) as one kitty "transmit and display" command (`a=T`), raw RGB (`f=24`) or RGBA
 * (`f=32`), base64 in chunks of at most 4096 characters, each in its own APC (`ESC _G … ESC \`):
 * the first carries the keys and `m=1`, the middle ones `m=1`, the last `m=0`. Quiet (`q=2`), cursor
 * left in place (`C=1`); reusing the image id replaces the previous frame. With `compress`, the
 * pixels are packed to RGB (unless they are RGB already) and deflated with zlib (`f=24`, `o=z`,
 * level 1: a frame costs a few ms and is sent in a fraction of the bytes; against RGBA, a 720p frame
 * deflates in 5 ms instead of 7.5 and is 19 % smaller, which the terminal parses too) and the base64
 * of that is chunked the same way. Returns bytes ready to write. `kittyFileCommand` draws pixels the
 * terminal reads from a temporary file instead (`t=t`, the file's path in base64; the terminal deletes
 * it once read: kitty_file.ts makes and sweeps the files), with `kittyPixels` the RGB bytes to put
 * there — neither base64 nor deflate on the client.
 */

import { deflateSync } from "node:zlib";
import type { RgbaImage } from "./jpeg.ts";

export const KITTY_CHUNK = 4096;

/** Where and how `renderKitty` and `kittyFileCommand` place a picture. */
export interface KittyOptions {
  /** Image id (1 … 2³²−1); the same id replaces the previous frame. */
  id: number;
  /** 24: RGB (smaller), 32: RGBA. Default 24. */
  format?: 24 | 32;
  /** Display over this many cells (the terminal scales); default: the image's own pixel size. */
  cols?: number;
  /** Display over this many rows of cells (with `cols`). */
  rows?: number;
  /** 1-based screen position; a cursor move is written first. */
  at?: { row: number; col: number };
  /** Send RGB deflated with zlib (`o=z`; `format` is then 24). */
  compress?: boolean;
}

const B64 = new TextEncoder().encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const enc = new TextEncoder();

/** Encodes `img` as kitty graphics escape sequences. */
export function renderKitty(img: RgbaImage, opts: KittyOptions): Uint8Array {
  if (opts.compress) return renderKittyZ(img, opts);
  const format = opts.format ?? 24;
  const bpp = format === 24 ? 3 : 4;
  const packed = img.channels === 3; // already RGB: sent as it is
  if (packed && format === 32) throw new RangeError("An RGB image cannot be sent as RGBA");
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
    if (bpp === 3 && !packed) {
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

/** The cursor move (if any), the APC's start and the display keys, up to the last key's value. */
function keysOf(
  img: { width: number; height: number },
  opts: KittyOptions,
  format: number,
  extra = "",
): string {
  let keys = `a=T,f=${format},s=${img.width},v=${img.height},i=${opts.id},q=2,C=1${extra}`;
  if (opts.cols) keys += `,c=${opts.cols}`;
  if (opts.rows) keys += `,r=${opts.rows}`;
  return (opts.at ? `\x1b[${opts.at.row};${opts.at.col}H` : "") + `\x1b_G${keys}`;
}

function head(img: RgbaImage, opts: KittyOptions, format: number, extra = ""): Uint8Array {
  return enc.encode(`${keysOf(img, opts, format, extra)},m=`);
}

/** The RGB bytes of `img` (its own data when it is RGB already, else packed: `packRgb`'s reused buffer). */
export function kittyPixels(img: RgbaImage): Uint8Array {
  if (img.channels !== 3) return packRgb(img);
  const d = img.data;
  return new Uint8Array(d.buffer, d.byteOffset, img.width * img.height * 3); // a view, not a copy
}

/**
 * One kitty command drawing `img` from the temporary file at `path` holding `size` bytes of RGB
 * (`kittyPixels`): `t=t`, `f=24`, `S=size`, the path in base64 as the payload; the other keys as
 * `renderKitty`'s. The terminal deletes the file after reading it (kitty: a path in a temporary folder
 * containing `tty-graphics-protocol`).
 */
export function kittyFileCommand(
  img: { width: number; height: number },
  opts: KittyOptions,
  path: string,
  size: number,
): Uint8Array {
  return enc.encode(`${keysOf(img, opts, 24, `,t=t,S=${size}`)};${btoa(path)}\x1b\\`);
}

/** The id of the temporary file query's 1×1 image (the graphics query of term_detect.ts is 31). */
export const KITTY_FILE_QUERY_ID = 32;

/**
 * Asks whether the terminal reads temporary files: a query (`a=q`, nothing drawn) of a 1×1 RGB image
 * in the file at `path` (3 bytes, made by the caller). Kitty answers `OK` for id 32 when it could read
 * it, an error when not (another machine: no such file); other terminals say nothing.
 */
export function kittyFileQuery(path: string): string {
  return `\x1b_Gi=${KITTY_FILE_QUERY_ID},s=1,v=1,a=q,t=t,f=24;${btoa(path)}\x1b\\`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let packBuf = new Uint8Array(0);

/**
 * RGB bytes of an RGBA image (alpha dropped), in a buffer reused between frames. Four pixels (four
 * 32-bit words) become three words at a time; the tail, unaligned data and big-endian machines go
 * byte by byte.
 */
export function packRgb(img: RgbaImage): Uint8Array {
  const n = img.width * img.height, d = img.data;
  if (packBuf.length < n * 3) packBuf = new Uint8Array(n * 3 + 4096);
  const out = packBuf.subarray(0, n * 3);
  let px = 0;
  if (LITTLE_ENDIAN && d.byteOffset % 4 === 0) {
    const w = new Uint32Array(d.buffer, d.byteOffset, n),
      o = new Uint32Array(packBuf.buffer, 0, (n >> 2) * 3);
    for (let k = 0; px + 4 <= n; px += 4, k += 3) {
      const w0 = w[px]!, w1 = w[px + 1]!, w2 = w[px + 2]!, w3 = w[px + 3]!;
      o[k] = (w0 & 0xffffff) | (w1 << 24);
      o[k + 1] = ((w1 >>> 8) & 0xffff) | (w2 << 16);
      o[k + 2] = ((w2 >>> 16) & 0xff) | (w3 << 8);
    }
  }
  for (; px < n; px++) {
    out[px * 3] = d[px * 4]!;
    out[px * 3 + 1] = d[px * 4 + 1]!;
    out[px * 3 + 2] = d[px * 4 + 2]!;
  }
  return out;
}

/** RGB deflated (`o=z`), then base64 in chunks of KITTY_CHUNK characters. */
function renderKittyZ(img: RgbaImage, opts: KittyOptions): Uint8Array {
  const rgb = kittyPixels(img);
  const z = deflateSync(rgb, { level: 1 });
  const pre = head(img, opts, 24, ",o=z");
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

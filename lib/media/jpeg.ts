/**
 * JPEG decoding and scaling — pure (no I/O). `decodeJpeg` uses @jsquash/jpeg (mozjpeg in WASM,
 * initialised on first use; it works under Deno without permissions) and falls back to jpeg-js if
 * the WASM module cannot start. Scalers resize RGBA to the pixel size a renderer needs:
 * `scaleNearest` (fastest) and `scaleBox` (area average, for large reductions). `yuvToRgba` turns
 * a decoder's planar YUV 4:4:4 (JPEG's full-range YCbCr) into RGBA.
 */

/** @jsquash/jpeg loads on the first JPEG decoded: a player fed raw frames by ffmpeg never loads it. */
let jsquash: typeof import("@jsquash/jpeg/decode.js") | null = null;

/**
 * Pixels, row-major: RGBA, 4 bytes per pixel, unless `channels` is 3 (RGB: from a decoder asked for
 * it for the kitty renderer, or a raw frame; the kitty and half-block renderers take them, the
 * scalers do not — `toRgba` first).
 */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The pixels, row-major, `channels` bytes each. */
  data: Uint8Array | Uint8ClampedArray;
  /** Bytes per pixel: 4 (RGBA, the default) or 3 (RGB). */
  channels?: 3 | 4;
}

let wasmBroken = false;
let started = false;

/**
 * What libjpeg last said of a damaged frame ("Corrupt JPEG data: …", "Premature end of JPEG file"):
 * kept here, never printed — a player draws over the terminal, and a warning on stderr would tear
 * the picture (the frame decodes, or fails with a SyntaxError, as before).
 */
export let lastJpegWarning: string | null = null;

/**
 * A decode error about the data, not the module: libjpeg's "Decoding error", or its fatal-error
 * path, which ends the WASM program (`ExitStatus`); the module decodes the next frame normally.
 */
function badData(e: unknown): boolean {
  return (e instanceof Error && e.message === "Decoding error") ||
    (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "ExitStatus");
}

/** Which decoder the last `decodeJpeg` used. */
export let lastDecoder: "jsquash" | "jpeg-js" = "jsquash";

/** Decodes a baseline or progressive JPEG to RGBA; throws SyntaxError for undecodable input. */
export async function decodeJpeg(jpeg: Uint8Array): Promise<RgbaImage> {
  if (!wasmBroken) {
    try {
      const ab = jpeg.buffer.slice(jpeg.byteOffset, jpeg.byteOffset + jpeg.byteLength) as ArrayBuffer;
      jsquash ??= await import("@jsquash/jpeg/decode.js");
      if (!started) (started = true, jsquash.init({ printErr: (m: string) => void (lastJpegWarning = m) }));
      const img = await jsquash.default(ab);
      lastDecoder = "jsquash";
      return { width: img.width, height: img.height, data: img.data as Uint8ClampedArray };
    } catch (e) {
      // Only a module that cannot start sends later frames to jpeg-js: one malformed frame must not.
      if (badData(e)) throw new SyntaxError("Invalid JPEG data");
      wasmBroken = true;
    }
  }
  // jpeg-js loads only here, when the WASM module could not start (~20 ms of every player's start).
  const jpegJs = (await import("jpeg-js")).default;
  try {
    const img = jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true });
    lastDecoder = "jpeg-js";
    return { width: img.width, height: img.height, data: img.data };
  } catch {
    throw new SyntaxError("Invalid JPEG data");
  }
}

/** The largest size with the source's aspect ratio inside maxW×maxH (at least 1×1). */
export function fitInto(
  srcW: number,
  srcH: number,
  maxW: number,
  maxH: number,
): { width: number; height: number } {
  const k = Math.min(maxW / srcW, maxH / srcH);
  return { width: Math.max(1, Math.round(srcW * k)), height: Math.max(1, Math.round(srcH * k)) };
}

function words(d: Uint8Array | Uint8ClampedArray): Uint32Array {
  return new Uint32Array(d.buffer, d.byteOffset, d.byteLength >> 2);
}

function aligned(img: RgbaImage): RgbaImage {
  return img.data.byteOffset % 4 === 0 ? img : { ...img, data: img.data.slice() };
}

/** Nearest-neighbour resize; reuses `out` when it has the right size. */
export function scaleNearest(src: RgbaImage, width: number, height: number, out?: RgbaImage): RgbaImage {
  if (src.width === width && src.height === height) return src;
  const dst = out && out.width === width && out.height === height ? out : {
    width,
    height,
    data: new Uint8Array(width * height * 4),
  };
  const s = words(aligned(src).data), d = words(dst.data);
  const xs = new Uint32Array(width);
  for (let x = 0; x < width; x++) {
    xs[x] = Math.min(src.width - 1, Math.floor(((x + 0.5) * src.width) / width));
  }
  for (let y = 0; y < height; y++) {
    const sy = Math.min(src.height - 1, Math.floor(((y + 0.5) * src.height) / height));
    const row = sy * src.width;
    const o = y * width;
    for (let x = 0; x < width; x++) d[o + x] = s[row + xs[x]!]!;
  }
  return dst;
}

/** The image with 4 channels (an RGB one is expanded with opaque alpha; others are returned as they are). */
export function toRgba(img: RgbaImage): RgbaImage {
  if (img.channels !== 3) return img;
  const n = img.width * img.height, s = img.data, d = new Uint8Array(n * 4);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    d[j] = s[i * 3]!;
    d[j + 1] = s[i * 3 + 1]!;
    d[j + 2] = s[i * 3 + 2]!;
    d[j + 3] = 255;
  }
  return { width: img.width, height: img.height, data: d };
}

/**
 * `img` area-averaged to width×height as packed RGB24 rows in a new buffer: a raw (half-block)
 * frame 0 made from a rendition's poster while the server's ffmpeg starts (server/video/service.ts).
 */
export function packedRgb(img: RgbaImage, width: number, height: number): Uint8Array {
  const s = scaleBox(toRgba(img), width, height).data, n = width * height, out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = s[i * 4]!;
    out[i * 3 + 1] = s[i * 4 + 1]!;
    out[i * 3 + 2] = s[i * 4 + 2]!;
  }
  return out;
}

/** Area-average downscale (each output pixel is the mean of its source box); upscales use nearest. */
export function scaleBox(src: RgbaImage, width: number, height: number): RgbaImage {
  if (width >= src.width || height >= src.height) return scaleNearest(src, width, height);
  const out = new Uint8Array(width * height * 4);
  const sd = src.data, sw = src.width;
  const x0 = new Uint32Array(width + 1);
  for (let x = 0; x <= width; x++) x0[x] = Math.floor((x * sw) / width);
  const acc = new Uint32Array(width * 4);
  for (let y = 0; y < height; y++) {
    const ya = Math.floor((y * src.height) / height),
      yb = Math.max(ya + 1, Math.floor(((y + 1) * src.height) / height));
    acc.fill(0);
    for (let sy = ya; sy < yb; sy++) {
      const row = sy * sw * 4;
      for (let x = 0; x < width; x++) {
        let r = 0, g = 0, b = 0, a = 0;
        for (let sx = x0[x]!, e = Math.max(x0[x]! + 1, x0[x + 1]!); sx < e; sx++) {
          const i = row + sx * 4;
          r += sd[i]!;
          g += sd[i + 1]!;
          b += sd[i + 2]!;
          a += sd[i + 3]!;
        }
        const j = x * 4; // j + 3 < width * 4 = acc.length: in range by construction
        acc[j] = acc[j]! + r;
        acc[j + 1] = acc[j + 1]! + g;
        acc[j + 2] = acc[j + 2]! + b;
        acc[j + 3] = acc[j + 3]! + a;
      }
    }
    const rows = yb - ya;
    for (let x = 0; x < width; x++) {
      const n = rows * (Math.max(x0[x]! + 1, x0[x + 1]!) - x0[x]!);
      const j = x * 4, o = (y * width + x) * 4;
      out[o] = (acc[j]! + (n >> 1)) / n;
      out[o + 1] = (acc[j + 1]! + (n >> 1)) / n;
      out[o + 2] = (acc[j + 2]! + (n >> 1)) / n;
      out[o + 3] = (acc[j + 3]! + (n >> 1)) / n;
    }
  }
  return { width, height, data: out };
}

// JFIF's YCbCr → RGB (ITU-R BT.601, full range) in 16.16 fixed point, one table per term.
const CR_R = new Int32Array(256), CB_G = new Int32Array(256), CR_G = new Int32Array(256);
const CB_B = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = Math.round(1.402 * x * 65536) + 32768; // + ½ for rounding
  CB_G[i] = Math.round(-0.344136 * x * 65536);
  CR_G[i] = Math.round(-0.714136 * x * 65536) + 32768;
  CB_B[i] = Math.round(1.772 * x * 65536) + 32768;
}

/**
 * Planar YUV 4:4:4 (Y plane, then Cb, then Cr, full range as in JPEG) to RGBA. For the small
 * frames of half-blocks this costs less than ffmpeg's own conversion.
 */
export function yuvToRgba(yuv: Uint8Array, width: number, height: number): RgbaImage {
  const n = width * height;
  if (yuv.length < 3 * n) {
    throw new RangeError(`${yuv.length} bytes is not a ${width}×${height} YUV 4:4:4 frame`);
  }
  const data = new Uint8Array(4 * n);
  const out = new Uint8ClampedArray(data.buffer);
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const y = yuv[i]! << 16, cb = yuv[n + i]!, cr = yuv[2 * n + i]!;
    out[o] = (y + CR_R[cr]!) >> 16;
    out[o + 1] = (y + CB_G[cb]! + CR_G[cr]!) >> 16;
    out[o + 2] = (y + CB_B[cb]!) >> 16;
    out[o + 3] = 255;
  }
  return { width, height, data };
}

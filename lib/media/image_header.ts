/**
 * Image headers — pure, no decoder. `imageHeader` tells a JPEG, PNG, WebP or GIF by its magic bytes
 * and reads its width and height from the header alone (JPEG through `jpegSize`, the one SOFn
 * reader); `checkImage` applies the caps against decompression bombs (file size, longest side,
 * pixels) to those numbers, so a picture over a cap is refused before anything is decoded. The
 * client reads the first `IMAGE_HEAD_BYTES` of a received file, checks it here, and only then lets
 * ffmpeg (ffmpeg.ts `imageThumbnail`) decode it, told the format so it never guesses another one.
 */
import { u32be } from "../common/bytes.ts";
import { jpegSize } from "./jpeg_header.ts";

/** The picture formats recognised by their magic bytes. */
export type ImageFormat = "jpeg" | "png" | "webp" | "gif";

/** What a picture's header tells: its format and size. */
export interface ImageHeader {
  /** The format named by the magic bytes. */
  format: ImageFormat;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** How much of a file the header check reads (a JPEG's SOF may follow large EXIF/ICC segments). */
export const IMAGE_HEAD_BYTES = 256 * 1024;

/** The caps a received picture must stay under to be decoded (against decompression bombs). */
export interface ImageCaps {
  /** Largest file shown, in bytes. */
  maxBytes: number;
  /** Longest side, in pixels. */
  maxSide: number;
  /** Width × height. */
  maxPixels: number;
  /** Width × height of a GIF (default `maxPixels`): its decoder holds the canvas and the frame. */
  maxGifPixels?: number;
}

/**
 * Default caps: 50 MiB, 16384 pixels a side, 50 megapixels, 25 for a GIF (issue 69 item 11: a
 * 35-byte GIF of 50 megapixels made ffmpeg's decoder peak at 301 MB; at 25, 158 MB). The decoder
 * runs under a memory limit too (ffmpeg.ts DECODER_DATA_BYTES: 256 MiB; a 49-megapixel PNG peaks at 212 MB).
 */
export const IMAGE_CAPS: ImageCaps = {
  maxBytes: 50 * 1024 * 1024,
  maxSide: 16384,
  maxPixels: 50_000_000,
  maxGifPixels: 25_000_000,
};

/** The pixel cap of a picture of `format` under `caps`. */
export const pixelCap = (format: ImageFormat, caps: ImageCaps): number =>
  format === "gif" ? caps.maxGifPixels ?? caps.maxPixels : caps.maxPixels;

const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);

function ascii(b: Uint8Array, i: number, s: string): boolean {
  if (b.length < i + s.length) return false;
  for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
  return true;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format its magic bytes name; null for anything else. */
export function imageFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && PNG_MAGIC.every((v, i) => b[i] === v)) return "png";
  if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return "gif";
  if (ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) return "webp";
  return null;
}

function pngSize(b: Uint8Array): [number, number] | null {
  // Signature, then the first chunk must be IHDR: length 13, width and height big-endian.
  if (b.length < 24 || u32be(b, 8) !== 13 || !ascii(b, 12, "IHDR")) return null;
  return [u32be(b, 16), u32be(b, 20)];
}

function webpSize(b: Uint8Array): [number, number] | null {
  if (ascii(b, 12, "VP8 ")) { // lossy: frame tag (3), start code 9d 01 2a, 14-bit sizes
    if (b.length < 30 || b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return [u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff];
  }
  if (ascii(b, 12, "VP8L")) { // lossless: signature 0x2f, then 14 bits width-1, 14 bits height-1
    if (b.length < 25 || b[20] !== 0x2f) return null;
    const v = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
    return [(v & 0x3fff) + 1, ((v >>> 14) & 0x3fff) + 1];
  }
  if (ascii(b, 12, "VP8X")) { // extended: canvas width-1 and height-1, 24 bits each
    if (b.length < 30) return null;
    return [u24le(b, 24) + 1, u24le(b, 27) + 1];
  }
  return null;
}

/** Format, width and height from the header; null when the magic is unknown or the header is cut. */
export function imageHeader(b: Uint8Array): ImageHeader | null {
  const format = imageFormat(b);
  let size: [number, number] | null = null;
  if (format === "jpeg") {
    const s = jpegSize(b);
    size = s ? [s.width, s.height] : null;
  } else if (format === "png") size = pngSize(b);
  else if (format === "gif") size = b.length >= 10 ? [u16le(b, 6), u16le(b, 8)] : null;
  else if (format === "webp") size = webpSize(b);
  if (!format || !size || !(size[0] > 0 && size[1] > 0)) return null;
  return { format, width: size[0], height: size[1] };
}

/** A picture that may be decoded, or why not (one sentence for the conversation). */
export type ImageCheck = { ok: true; header: ImageHeader } | ImageRefusal;

/** Why a file is not shown; `picture`: its magic bytes named a picture format (say why, then). */
export interface ImageRefusal {
  /** Always false: the file is not shown. */
  ok: false;
  /** One sentence for the conversation saying why. */
  reason: string;
  /** True when the magic bytes named a picture format. */
  picture: boolean;
}

/**
 * Checks a file's first bytes and size against the caps. Refuses unknown formats, cut headers,
 * files over `maxBytes` and dimensions over `maxSide`/`maxPixels`; does no work beyond the header.
 */
export function checkImage(head: Uint8Array, fileSize: number, caps: ImageCaps = IMAGE_CAPS): ImageCheck {
  const header = imageHeader(head);
  if (!header) {
    const picture = imageFormat(head) !== null;
    return {
      ok: false,
      picture,
      reason: picture ? "its header is damaged" : "it is not a JPEG, PNG, WebP or GIF",
    };
  }
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
  if (fileSize > caps.maxBytes) {
    return { ok: false, picture: true, reason: `it is ${mb(fileSize)}, over the ${mb(caps.maxBytes)} cap` };
  }
  const { width: w, height: h } = header, maxPixels = pixelCap(header.format, caps);
  if (w > caps.maxSide || h > caps.maxSide || w * h > maxPixels) {
    return {
      ok: false,
      picture: true,
      reason: `it is ${w}×${h} pixels, over the cap (${caps.maxSide} a side, ${
        Math.round(maxPixels / 1e6)
      } megapixels${header.format === "gif" ? " for a GIF" : ""})`,
    };
  }
  return { ok: true, header };
}

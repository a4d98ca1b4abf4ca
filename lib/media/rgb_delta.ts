/**
 * RGB deltas — pure. A raw RGB24 frame coded against the previous frame of the same size: only the
 * runs of pixels that changed travel. Still parts of a picture (a background, letterbox bars, a
 * slide) then cost nothing, and a video whose every pixel moves costs a few bytes more than the
 * frame itself, in which case `encodeRgbDelta` says so (null) and the frame goes whole.
 *
 * Format: runs, each `skip` (u32 LE: unchanged pixels) then `count` (u32 LE: changed pixels) then
 * count × 3 bytes of RGB; the pixels after the last run are unchanged. `applyRgbDelta` checks every
 * run against the frame's size and throws RangeError on any malformed delta, leaving `base` as it
 * was (it works on a copy).
 */

const HEADER = 8;

/**
 * The delta from `prev` to `cur` (same length, a multiple of 3), or null when it would not be
 * smaller than `limit` bytes (default: three quarters of the frame). With `copy` false it is a view
 * of a buffer kept between calls, good until the next call (for a caller that copies it at once).
 */
export function encodeRgbDelta(
  prev: Uint8Array,
  cur: Uint8Array,
  limit = (cur.length * 3) >> 2,
  copy = true,
): Uint8Array | null {
  if (prev.length !== cur.length || cur.length % 3 !== 0) return null;
  const px = cur.length / 3;
  // Runs are at least a pixel apart by two unchanged ones: at most ⌈px / 3⌉ of them.
  const cap = Math.min(limit - 1, cur.length + HEADER * Math.ceil(px / 3));
  if (cap < 0) return null;
  // Written into one scratch buffer kept between calls (a frame's worth, every frame), then copied
  // out at its size unless the caller copies it itself: no closure.
  if (scratch.length < cap) scratch = new Uint8Array(cap);
  const out = scratch;
  let o = 0, i = 0, last = 0;
  while (i < px) {
    while (i < px && samePixel(prev, cur, i)) i++;
    if (i >= px) break;
    let e = i + 1;
    // A run ends at two unchanged pixels in a row (one is cheaper to resend than a new run header).
    while (e < px && !(samePixel(prev, cur, e) && (e + 1 >= px || samePixel(prev, cur, e + 1)))) e++;
    const bytes = (e - i) * 3;
    if (o + HEADER + bytes > cap) return null;
    putU32(out, o, i - last);
    putU32(out, o + 4, e - i);
    out.set(cur.subarray(i * 3, e * 3), o + HEADER);
    o += HEADER + bytes;
    i = last = e;
  }
  return copy ? out.slice(0, o) : out.subarray(0, o);
}

/** `encodeRgbDelta`'s buffer, grown to the largest delta it was asked to make room for. */
let scratch = new Uint8Array(0);

function samePixel(prev: Uint8Array, cur: Uint8Array, p: number): boolean {
  const k = p * 3;
  return prev[k] === cur[k] && prev[k + 1] === cur[k + 1] && prev[k + 2] === cur[k + 2];
}

/** Writes `v` as a little-endian u32 at `o`. */
function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 255;
  b[o + 1] = (v >>> 8) & 255;
  b[o + 2] = (v >>> 16) & 255;
  b[o + 3] = (v >>> 24) & 255;
}

/**
 * The frame `delta` makes of `base`, written into `out` (by default a new array; `base` is not
 * changed, and `out` must not be it). Throws RangeError if malformed.
 */
export function applyRgbDelta(
  base: Uint8Array,
  delta: Uint8Array,
  out: Uint8Array = new Uint8Array(base.length),
): Uint8Array {
  if (out.length !== base.length || overlap(out, base)) {
    throw new RangeError("An RGB delta's output must be a frame of its own");
  }
  out.set(base);
  const px = base.length / 3;
  const dv = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  let o = 0, at = 0;
  while (o < delta.length) {
    if (o + HEADER > delta.length) throw new RangeError("A truncated run header in an RGB delta");
    const skip = dv.getUint32(o, true), count = dv.getUint32(o + 4, true);
    at += skip;
    const bytes = count * 3;
    if (count === 0 || at + count > px || o + HEADER + bytes > delta.length) {
      throw new RangeError("An RGB delta run outside the frame or past its data");
    }
    out.set(delta.subarray(o + HEADER, o + HEADER + bytes), at * 3);
    at += count;
    o += HEADER + bytes;
  }
  return out;
}

/** True when two views share bytes. */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

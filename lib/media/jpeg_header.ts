/**
 * JPEG header reading — pure, no decoder: `jpegSize` finds a frame's width and height in its SOFn
 * marker. The server's streams (a poster's size) and the client's ffmpeg decoder (each frame's
 * output size) read it here; nothing is decoded. `isWholeJpeg`: start and end markers in place (a
 * poster or kept frame cut short is not sent).
 */

/** A JPEG from its start marker to its end marker (its middle is not read). */
export function isWholeJpeg(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff &&
    b[b.length - 1] === 0xd9;
}

/** Width and height from a JPEG's SOFn header; null when there is none. */
export function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0…SOF15 except DHT (c4), JPG (c8) and DAC (cc).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      const height = (b[i + 5]! << 8) | b[i + 6]!, width = (b[i + 7]! << 8) | b[i + 8]!;
      return width > 0 && height > 0 ? { width, height } : null;
    }
    if (m === 0xda || m === 0xd9) return null; // scan or end before any frame header
    i += 2 + len;
  }
  return null;
}

/**
 * The CRC-32 a message row of the embedded store carries (issue 68; sqlite_store.ts writes and checks
 * it, sqlite_check.ts scans with it): zlib's CRC-32 of the body, continued over the UTF-8 of the
 * other columns joined by NUL — `seq, mid, sender, kind, target, conv, ts, expires` (expires "" when
 * none). The columns are fed to the CRC one character at a time, never joined into a string and
 * encoded (issue 73: that cost ~0.4 µs a row, a tenth of the store's CPU per message). Pure.
 */
import { crc32 } from "node:zlib";

/** The CRC-32 (IEEE, reflected: zlib's) of each byte value. */
const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** `c` (a running CRC register, inverted) over one byte. */
const step = (c: number, b: number) => TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);

/** `c` over the UTF-8 of the code point `u` (as TextEncoder writes it: a lone surrogate is U+FFFD). */
function stepCodePoint(c: number, u: number): number {
  if (u < 0x800) return step(step(c, 0xc0 | (u >> 6)), 0x80 | (u & 63));
  if (u < 0x10000) return step(step(step(c, 0xe0 | (u >> 12)), 0x80 | ((u >> 6) & 63)), 0x80 | (u & 63));
  c = step(step(c, 0xf0 | (u >> 18)), 0x80 | ((u >> 12) & 63));
  return step(step(c, 0x80 | ((u >> 6) & 63)), 0x80 | (u & 63));
}

/** `c` over the UTF-8 of `s` (ASCII in this loop; from the first other character, `stepWide`). */
function stepString(c: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0x80) return stepWide(c, s, i);
    c = TABLE[(c ^ u) & 0xff]! ^ (c >>> 8);
  }
  return c;
}

/** `c` over the UTF-8 of `s` from `i` on, any character. */
function stepWide(c: number, s: string, i: number): number {
  for (; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0x80) c = step(c, u);
    else if (u < 0xd800 || u > 0xdfff) c = stepCodePoint(c, u);
    else {
      const low = u <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = stepCodePoint(c, 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00));
        i++;
      } else c = stepCodePoint(c, 0xfffd);
    }
  }
  return c;
}

/** The decimal digits of a number being fed (`stepNumber`), from the end. */
const DIGITS = new Uint8Array(16);

/** `c` over `String(n)`: a safe non-negative integer's digits without making the string. */
function stepNumber(c: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n))) return stepString(c, String(n));
  let at = DIGITS.length;
  do {
    const q = Math.floor(n / 10);
    DIGITS[--at] = 48 + (n - q * 10);
    n = q;
  } while (n > 0);
  for (; at < DIGITS.length; at++) c = TABLE[(c ^ DIGITS[at]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** A row's columns as the CRC reads them (`expires` null or absent: none). */
export interface CrcColumns {
  seq: number;
  mid: string;
  sender: string;
  kind: string;
  target: string;
  conv: string;
  ts: number;
  body: Uint8Array;
  expires?: number | null;
}

/**
 * The CRC-32 a row carries: of its body, then of its other columns joined by NUL. `expires`: the
 * row's, when `m` has none of its own (a message read back before its `expires` is set on it).
 */
export function rowCrc(m: CrcColumns, expires: number | null | undefined = m.expires): number {
  let c = ~crc32(m.body);
  c = step(stepNumber(c, m.seq), 0);
  c = step(stepString(c, m.mid), 0);
  c = step(stepString(c, m.sender), 0);
  c = step(stepString(c, m.kind), 0);
  c = step(stepString(c, m.target), 0);
  c = step(stepString(c, m.conv), 0);
  c = step(stepNumber(c, m.ts), 0);
  if (expires != null) c = stepNumber(c, expires);
  return ~c >>> 0;
}

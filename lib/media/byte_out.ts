/**
 * ByteOut — a growable byte buffer for terminal output built cell by cell. Pure. Renderers that
 * write tens of thousands of escape sequences per frame append bytes here instead of concatenating
 * strings and encoding them afterwards (at 200×60 half-blocks that was ~2 ms of a frame). `bytes()`
 * returns a copy the caller may keep; `reset()` starts over and keeps the buffer.
 */

const DEC: Uint8Array[] = Array.from({ length: 256 }, (_, i) => new TextEncoder().encode(String(i)));
/** The decimal digits of 0–255 packed as one number each: the digit count in the low byte, then the digits. */
const DEC_PACKED = Int32Array.from(
  DEC,
  (d) => d.reduce((acc, digit, i) => acc | (digit << (8 * (i + 1))), d.length),
);

export class ByteOut {
  #buf: Uint8Array;
  #n = 0;

  constructor(initial = 1 << 16) {
    this.#buf = new Uint8Array(initial);
  }

  get length(): number {
    return this.#n;
  }

  reset(): void {
    this.#n = 0;
  }

  /** Room for `k` more bytes. */
  #room(k: number): void {
    if (this.#n + k <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#n + k));
    next.set(this.#buf.subarray(0, this.#n));
    this.#buf = next;
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#n++] = b;
  }

  /** Appends bytes (e.g. a pre-encoded constant). */
  put(b: Uint8Array): void {
    const k = b.length;
    this.#room(k);
    if (k > 16) this.#buf.set(b, this.#n);
    else for (let i = 0; i < k; i++) this.#buf[this.#n + i] = b[i]!; // faster than set() for a few bytes
    this.#n += k;
  }

  /** Appends a non-negative integer in decimal. */
  num(v: number): void {
    if (v < 256) return this.put(DEC[v]!);
    const s = String(Math.floor(v));
    this.#room(s.length);
    for (let i = 0; i < s.length; i++) this.#buf[this.#n++] = s.charCodeAt(i);
  }

  /**
   * Raw access for a writer's hot loop: makes room for `k` more bytes and returns the buffer, to be
   * written from `length` on (with `putRgbAt`, `putNumAt`) and then committed with `setLength`.
   */
  room(k: number): Uint8Array {
    this.#room(k);
    return this.#buf;
  }

  /** Commits what was written into `room`'s buffer: `n` bytes in all (never more than it made room for). */
  setLength(n: number): void {
    if (n < 0 || n > this.#buf.length) throw new RangeError(`ByteOut length ${n} out of its buffer`);
    this.#n = n;
  }

  /** Appends "R;G;B" (decimal) of a 0xRRGGBB colour. */
  rgb(c: number): void {
    this.#room(11);
    this.#n = putRgbAt(this.#buf, this.#n, c);
  }

  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#n);
  }
}

/** Writes "R;G;B" of a 0xRRGGBB colour at `n` (11 bytes at most); returns the index after it. */
export function putRgbAt(buf: Uint8Array, n: number, c: number): number {
  n = putDec(buf, n, DEC_PACKED[(c >> 16) & 255]!);
  buf[n++] = 0x3b;
  n = putDec(buf, n, DEC_PACKED[(c >> 8) & 255]!);
  buf[n++] = 0x3b;
  return putDec(buf, n, DEC_PACKED[c & 255]!);
}

/** Writes a whole number in decimal at `n` (a cursor position: 5 bytes up to 99999); returns the index after it. */
export function putNumAt(buf: Uint8Array, n: number, v: number): number {
  if (v < 256) return putDec(buf, n, DEC_PACKED[v]!);
  if (v >= 100000) {
    const s = String(Math.floor(v));
    for (let i = 0; i < s.length; i++) buf[n++] = s.charCodeAt(i);
    return n;
  }
  if (v >= 10000) buf[n++] = 0x30 + ((v / 10000) | 0) % 10;
  if (v >= 1000) buf[n++] = 0x30 + ((v / 1000) | 0) % 10;
  buf[n++] = 0x30 + ((v / 100) | 0) % 10;
  buf[n++] = 0x30 + ((v / 10) | 0) % 10;
  buf[n++] = 0x30 + (v % 10);
  return n;
}

/** Writes the digits of one packed 0–255 (`DEC_PACKED`) at `n`; returns the index after them. */
function putDec(buf: Uint8Array, n: number, d: number): number {
  buf[n++] = (d >> 8) & 255;
  const k = d & 255;
  if (k > 1) buf[n++] = (d >> 16) & 255;
  if (k > 2) buf[n++] = (d >> 24) & 255;
  return n;
}

/**
 * ByteOut — a growable byte buffer for terminal output built cell by cell. Pure. Renderers that
 * write tens of thousands of escape sequences per frame append bytes here instead of concatenating
 * strings and encoding them afterwards (at 200×60 half-blocks that was ~2 ms of a frame). `bytes()`
 * returns a copy the caller may keep; `reset()` starts over and keeps the buffer.
 */

const DEC: Uint8Array[] = Array.from({ length: 256 }, (_, i) => new TextEncoder().encode(String(i)));

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

  /** Appends "R;G;B" (decimal) of a 0xRRGGBB colour. */
  rgb(c: number): void {
    this.put(DEC[(c >> 16) & 255]!);
    this.byte(0x3b);
    this.put(DEC[(c >> 8) & 255]!);
    this.byte(0x3b);
    this.put(DEC[c & 255]!);
  }

  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#n);
  }
}

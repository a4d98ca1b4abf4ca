/**
 * The hot header read by hand (pure): a `send` header in the exact bytes clients write,
 * `"to":{"kind":"user"|"room","name":"…"},"mid":"…"`, then maybe `,"devices":["…",…]` and
 * `,"ttl":N`, with `"t":"send","id":N` before or after them — no spaces, printable ASCII strings
 * without `"` or `\`, numbers plain decimals of at most 10 digits. `sendHeader` answers
 * what `JSON.parse` answers for those bytes (the same keys in the same order); anything else, even
 * valid JSON in another spelling, gets null and takes parseHeader's general path (UTF-8, depth,
 * forbidden keys, `JSON.parse`), which decides and says why. Issue 37: a 75-byte header cost 820 ns
 * through that path (`JSON.parse` 516 of them, the UTF-8 decoding 114), ~220 ns here.
 * send_header_test.ts holds it to `JSON.parse` on random spellings.
 */

import { utf8 } from "../common/bytes.ts";
import { plain } from "./frame_put.ts";

/** The longest string `NAMES` keeps (a device address is at most 80 characters). */
const INTERN_MAX = 80;

const Q = 0x22, T = 0x74, OPEN = 0x7b, CLOSE = 0x7d, COMMA = 0x2c;

/** The spellings' fixed parts, as bytes. */
const lit = (s: string) => utf8.encode(s);
const HEAD = lit('{"t":"send","id":'), TAIL = lit(',"t":"send","id":');
const TO = lit('"to":{"kind":"');
const USER = lit("user"), ROOM = lit("room");
const NAME = lit('","name":"');
const MID = lit('"},"mid":"');
const DEVICES = lit(',"devices":['), TTL = lit(',"ttl":');

/** True when `lit` lies in `b` at `o`. */
function at(b: Uint8Array, o: number, lit: Uint8Array): boolean {
  if (o + lit.length > lim) return false;
  for (let i = 0; i < lit.length; i++) if (b[o + i] !== lit[i]) return false;
  return true;
}

/** Where the plain string starting at `o` ends (its closing quote), or -1 (escape, control, non-ASCII, no end). */
function plainEnd(b: Uint8Array, o: number): number {
  for (let i = o; i < lim; i++) {
    const c = b[i]!;
    if (c === Q) return i;
    if (!plain(c)) return -1;
  }
  return -1;
}

/** Arrays of character codes by length, refilled for each string `ascii` makes (no view of `b` a string). */
const CODES: number[][] = [];
/** The longest string made through CODES (a mid is at most 64 characters). */
const CODES_MAX = 128;

/**
 * The characters of the ASCII bytes `b[from..to)` (one flat string: cheaper to hash later than a
 * concatenation): ~70 ns for 24 characters through a reused array, ~120–170 through a view of `b`.
 */
function ascii(b: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n > CODES_MAX) return String.fromCharCode.apply(null, b.subarray(from, to) as unknown as number[]);
  const a = CODES[n] ??= new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) a[i] = b[from + i]!;
  return String.fromCharCode.apply(null, a);
}

/**
 * Names and device addresses met lately, by a hash of their bytes (a name is sent again and again:
 * making its string each time was a third of this read).
 */
const NAMES: (string | undefined)[] = new Array(256);

/** The name in the ASCII bytes `b[from..to)`, from `NAMES` when it is there (up to `INTERN_MAX` long). */
function nameOf(b: Uint8Array, from: number, to: number): string {
  if (to - from > INTERN_MAX) return ascii(b, from, to);
  let h = to - from;
  for (let i = from; i < to; i++) h = (h * 31 + b[i]!) & 0xff;
  const known = NAMES[h];
  if (known !== undefined && known.length === to - from) {
    let i = 0;
    while (i < known.length && known.charCodeAt(i) === b[from + i]) i++;
    if (i === known.length) return known;
  }
  return NAMES[h] = ascii(b, from, to);
}

/** Where the last `decimal` or `list` ended (a parse runs start to end with no await: one cursor serves). */
let end = 0;
/** Where the header being read ends in its buffer (set by `sendHeader` for the same one parse). */
let lim = 0;

/** A plain decimal at `b[o..)` (1 to 10 digits, no leading 0), `end` past it; else -1. */
function decimal(b: Uint8Array, o: number): number {
  let v = 0, i = o;
  for (; i < lim && b[i]! >= 0x30 && b[i]! <= 0x39; i++) v = v * 10 + b[i]! - 0x30;
  const n = i - o;
  end = i;
  return n === 0 || n > 10 || (n > 1 && b[o] === 0x30) ? -1 : v;
}

/** The strings of a `"devices":[…]` list starting at `o` (past its `[`), `end` past its `]`; else null. */
function list(b: Uint8Array, o: number): string[] | null {
  const out: string[] = [];
  for (let first = true;; first = false) {
    if (b[o] === 0x5d && first) break;
    if (b[o] !== Q) return null;
    const e = plainEnd(b, o + 1);
    if (e < 0) return null;
    out.push(nameOf(b, o + 1, e));
    o = e + 1;
    if (b[o] === 0x5d) break;
    if (b[o] !== COMMA) return null;
    o++;
  }
  end = o + 1;
  return out;
}

/**
 * Reads `"to":{"kind":"user"|"room","name":"…"},"mid":"…"` at `o`, then maybe `,"devices":[…]` and
 * `,"ttl":N`, into `h` (in that order); where they end, or -1.
 */
function fields(b: Uint8Array, o: number, h: Record<string, unknown>): number {
  if (!at(b, o, TO)) return -1;
  o += TO.length;
  const kind = at(b, o, USER) ? "user" : at(b, o, ROOM) ? "room" : null;
  if (!kind || !at(b, o + 4, NAME)) return -1;
  o += 4 + NAME.length;
  const nameEnd = plainEnd(b, o);
  if (nameEnd <= o) return -1; // no end, or empty
  h.to = { kind, name: nameOf(b, o, nameEnd) };
  if (!at(b, nameEnd, MID)) return -1;
  o = nameEnd + MID.length;
  const midEnd = plainEnd(b, o);
  if (midEnd <= o) return -1;
  h.mid = ascii(b, o, midEnd);
  o = midEnd + 1;
  if (at(b, o, DEVICES)) {
    const d = list(b, o + DEVICES.length);
    if (!d) return -1;
    h.devices = d;
    o = end;
  }
  if (at(b, o, TTL)) {
    const t = decimal(b, o + TTL.length);
    if (t < 0) return -1;
    h.ttl = t;
    o = end;
  }
  return o;
}

/**
 * The header as `JSON.parse` would answer it when `bytes[start..stop)` (all of it by default) is a
 * send header spelt as clients spell it; else null. Two spellings: `t` and `id` first
 * (`{"t":"send","id":N,"to":…}`, other tools), or last (`{"to":…,"t":"send","id":N}`, Parley's
 * client, which writes its fields before them). Read in place: a frame's header needs no view.
 */
export function sendHeader(
  bytes: Uint8Array,
  start = 0,
  stop = bytes.length,
): Record<string, unknown> | null {
  // Both spellings open with `{"t`: other headers are turned away before anything is made.
  if (stop - start < 3 || bytes[start] !== OPEN || bytes[start + 1] !== Q || bytes[start + 2] !== T) {
    return null;
  }
  // A node Buffer's subarray runs a JavaScript constructor: the strings are cut from a plain view.
  const b = bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  lim = stop;
  if (at(b, start, HEAD)) {
    const id = decimal(b, start + HEAD.length);
    if (id < 0 || b[end] !== COMMA) return null;
    const h: Record<string, unknown> = { t: "send", id };
    const o = fields(b, end + 1, h);
    return o > 0 && o + 1 === stop && b[o] === CLOSE ? h : null;
  }
  if (!at(b, start + 1, TO)) return null;
  const h: Record<string, unknown> = {};
  const o = fields(b, start + 1, h);
  if (o < 0 || !at(b, o, TAIL)) return null;
  const id = decimal(b, o + TAIL.length);
  if (id < 0 || end + 1 !== stop || b[end] !== CLOSE) return null;
  h.t = "send";
  h.id = id;
  return h;
}

/**
 * Frames written in place (pure, no I/O): `putFrame` lays one frame — u32 length, u32 header
 * length, the header's UTF-8 JSON, the body — into a caller's byte array at an offset, so a writer
 * can fill one buffer with many frames (frame.ts `encodeFrame` builds a frame of its own with it:
 * the layout has this one home). `msgJson` and `storedJson` write the JSON of the two frames of
 * every stored message (its `msg` to the recipients and the sender's `ok`) by hand, byte for byte
 * what JSON.stringify gives for the same object (frame_put_test.ts compares them on random
 * values), without building the object. `putMsgFrame` and `putStoredFrame` write the same bytes
 * into a buffer without building the text either, when every string is plain ASCII and every
 * number a safe integer of at least 0 (else -1: the caller takes the text).
 */
import { utf8 } from "../common/bytes.ts";
import type { Target } from "./messages.ts";

/** Bytes before a frame's header: its length and its header's length. */
export const FRAME_PREFIX = 8;

/**
 * Writes the length prefix and header text `json` of a frame whose `bodyLen`-byte body follows, into
 * `out` from `at`; returns where the body goes, or -1 when the frame does not fit (then `out` from
 * `at` may hold part of it: the caller writes it elsewhere).
 */
export function putHead(out: Uint8Array, at: number, json: string, bodyLen: number): number {
  const room = out.length - at - FRAME_PREFIX - bodyLen;
  // A header takes at least as many UTF-8 bytes as it has UTF-16 units.
  if (room < json.length) return -1;
  const h = at + FRAME_PREFIX;
  const r = utf8.encodeInto(json, out.subarray(h, h + room));
  if (r.read < json.length) return -1;
  putLengths(out, at, h + r.written, bodyLen);
  return h + r.written;
}

/** Writes a whole frame (`putHead`, then `body`); returns where it ends, or -1 when it does not fit. */
export function putFrame(out: Uint8Array, at: number, json: string, body: Uint8Array): number {
  const o = putHead(out, at, json, body.length);
  if (o < 0) return -1;
  if (body.length) out.set(body, o);
  return o + body.length;
}

/**
 * Whether JSON writes the UTF-16 unit `c` as it is: printable ASCII other than `"` and `\` (the one
 * home of this rule: send_header.ts reads strings by it too).
 */
export const plain = (c: number): boolean => c >= 0x20 && c <= 0x7e && c !== 34 && c !== 92;

/** `s` as JSON.stringify writes it. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) if (!plain(s.charCodeAt(i))) return JSON.stringify(s);
  return `"${s}"`;
}

/** `n` as JSON.stringify writes it (`null` for NaN and the infinities). */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

/** A `to` as JSON.stringify writes hub.ts `wireTarget`'s object. */
function targetJson(to: Target): string {
  return to.kind === "broadcast"
    ? `{"kind":"broadcast"}`
    : `{"kind":${jsonString(to.kind)},"name":${jsonString(to.name)}}`;
}

/** The fields of a `msg` header, in its key order. */
export interface MsgFields {
  seq: number;
  mid: string;
  from: string;
  to: Target;
  ts: number;
  conv: string;
  req?: number;
}

/** JSON.stringify of a `msg` header object with the keys t, seq, mid, from, to, ts, conv (and req). */
export function msgJson(m: MsgFields): string {
  const head = `{"t":"msg","seq":${jsonNumber(m.seq)},"mid":${jsonString(m.mid)},"from":${
    jsonString(m.from)
  },"to":${targetJson(m.to)},"ts":${jsonNumber(m.ts)},"conv":${jsonString(m.conv)}`;
  return m.req === undefined ? head + "}" : `${head},"req":${jsonNumber(m.req)}}`;
}

/** JSON.stringify of `{ seq, ts, t: "ok", id }`: the reply to a stored `send`. */
export function storedJson(id: number, seq: number, ts: number): string {
  return `{"seq":${jsonNumber(seq)},"ts":${jsonNumber(ts)},"t":"ok","id":${jsonNumber(id)}}`;
}

/**
 * Writes `n` (a safe integer, at least 0) in decimal at `at`; returns where it ends, -1 for any other
 * number or when it does not fit. In int32 arithmetic (issue 37: a double division a digit cost
 * twice as much): below 1e8 in one piece, else its high part (below 1e8 for every safe integer)
 * and its low eight digits.
 */
function putUint(out: Uint8Array, at: number, n: number): number {
  if (at < 0 || !Number.isSafeInteger(n) || n < 0) return -1;
  const hi = n < 1e8 ? 0 : Math.floor(n / 1e8), lo = n - hi * 1e8;
  const loDigits = hi > 0 ? 8 : digitCount(lo);
  const end = at + (hi > 0 ? digitCount(hi) : 0) + loDigits;
  if (end > out.length) return -1;
  putDigits(out, end, lo, loDigits);
  if (hi > 0) putDigits(out, end - 8, hi, end - 8 - at);
  return end;
}

/**
 * The last time written by `putTime` and its digits: the messages of one commit, their `msg` frames
 * and their senders' `ok`s share a few milliseconds, so most times are copied, not divided out
 * digit by digit again (a memo: what is written never depends on it).
 */
let lastTime = -1, lastTimeLen = 0;
const lastTimeDigits = new Uint8Array(16); // (a safe integer has at most 16 digits)

/** `putUint` of a time in ms (a safe integer of at least 0, else -1 as `putUint`). */
function putTime(out: Uint8Array, at: number, t: number): number {
  if (t === lastTime && at >= 0) {
    const end = at + lastTimeLen;
    if (end > out.length) return -1;
    for (let i = 0; i < lastTimeLen; i++) out[at + i] = lastTimeDigits[i]!;
    return end;
  }
  const end = putUint(out, at, t);
  if (end >= 0) {
    lastTime = t;
    lastTimeLen = end - at;
    for (let i = 0; i < lastTimeLen; i++) lastTimeDigits[i] = out[at + i]!;
  }
  return end;
}

/** How many decimal digits `n` (0 ≤ n < 1e8) has. */
function digitCount(n: number): number {
  let d = 1;
  for (let p = 10; p <= n; p *= 10) d++;
  return d;
}

/** Writes the `count` last decimal digits of `n` (0 ≤ n < 1e8, zero-padded) to end just before `end`. */
function putDigits(out: Uint8Array, end: number, n: number, count: number): void {
  for (let i = end - 1; i >= end - count; i--) {
    const q = (n / 10) | 0;
    out[i] = 48 + n - q * 10;
    n = q;
  }
}

/**
 * Writes `s` as a JSON string when all of it is PLAIN (then one byte a character); -1 otherwise, when
 * it does not fit, or when `at` is -1 (as every writer here: so calls chain).
 */
function putPlain(out: Uint8Array, at: number, s: string): number {
  const end = at + s.length + 2;
  if (at < 0 || end > out.length) return -1;
  out[at++] = 34;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!plain(c)) return -1;
    out[at++] = c;
  }
  out[at] = 34;
  return end;
}

/** Copies the ASCII text `lit` (pre-encoded) to `at`; -1 when it does not fit. */
function putLit(out: Uint8Array, at: number, lit: Uint8Array): number {
  const end = at + lit.length;
  if (at < 0 || end > out.length) return -1;
  for (let i = 0; i < lit.length; i++) out[at + i] = lit[i]!;
  return end;
}

const lit = (s: string) => utf8.encode(s);
const SEQ = lit(`{"t":"msg","seq":`), MID = lit(`,"mid":`), FROM = lit(`,"from":`), TO = lit(`,"to":`);
const BROADCAST = lit(`{"kind":"broadcast"}`), KIND = lit(`{"kind":`), NAME = lit(`,"name":`);
const TARGET_END = lit(`}`), TS = lit(`,"ts":`), CONV = lit(`,"conv":`), REQ = lit(`,"req":`), END = lit(`}`);
const OK_SEQ = lit(`{"seq":`), OK_ID = lit(`,"t":"ok","id":`);
/** Digits of a safe integer, at most. */
const UINT_MOST = 16;
/** A msg header's bytes besides its five strings' characters, at most. */
const MSG_FIXED = SEQ.length + MID.length + FROM.length + TO.length + KIND.length + NAME.length +
  TARGET_END.length + TS.length + CONV.length + REQ.length + END.length + 5 * 2 + 3 * UINT_MOST;

/**
 * The most bytes `putMsgFrame` writes for `m` and a `bodyLength`-byte body (one byte a character:
 * it writes plain strings only).
 */
export function msgFrameMost(m: MsgFields, bodyLength: number): number {
  const names = m.to.kind === "broadcast" ? BROADCAST.length : m.to.kind.length + m.to.name.length;
  return FRAME_PREFIX + MSG_FIXED + m.mid.length + m.from.length + names + m.conv.length + bodyLength;
}

/** The most bytes `putStoredFrame` writes. */
export const STORED_FRAME_MOST = FRAME_PREFIX + OK_SEQ.length + TS.length + OK_ID.length + END.length +
  3 * UINT_MOST;

/** Writes the 8 length bytes of a frame at `at` whose header ends at `hEnd` and whose body is `bodyLen` bytes. */
function putLengths(out: Uint8Array, at: number, hEnd: number, bodyLen: number): void {
  const hLen = hEnd - at - FRAME_PREFIX, len = 4 + hLen + bodyLen;
  out[at] = len >>> 24;
  out[at + 1] = (len >>> 16) & 255;
  out[at + 2] = (len >>> 8) & 255;
  out[at + 3] = len & 255;
  out[at + 4] = hLen >>> 24;
  out[at + 5] = (hLen >>> 16) & 255;
  out[at + 6] = (hLen >>> 8) & 255;
  out[at + 7] = hLen & 255;
}

/**
 * The frame `putFrame(out, at, msgJson(m), body)` writes, written without the text; returns where it
 * ends, or -1 when it does not fit or a field is not plain (a string with another character, a number
 * that is not a safe integer of at least 0): then `out` from `at` may hold part of it.
 */
export function putMsgFrame(out: Uint8Array, at: number, m: MsgFields, body: Uint8Array): number {
  let o = putUint(out, putLit(out, at + FRAME_PREFIX, SEQ), m.seq);
  o = putPlain(out, putLit(out, o, MID), m.mid);
  o = putPlain(out, putLit(out, o, FROM), m.from);
  o = putLit(out, o, TO);
  if (m.to.kind === "broadcast") o = putLit(out, o, BROADCAST);
  else {
    o = putPlain(out, putLit(out, o, KIND), m.to.kind);
    o = putLit(out, putPlain(out, putLit(out, o, NAME), m.to.name), TARGET_END);
  }
  o = putTime(out, putLit(out, o, TS), m.ts);
  o = putPlain(out, putLit(out, o, CONV), m.conv);
  if (m.req !== undefined) o = putUint(out, putLit(out, o, REQ), m.req);
  o = putLit(out, o, END);
  if (o < 0 || o + body.length > out.length) return -1;
  putLengths(out, at, o, body.length);
  if (body.length) out.set(body, o);
  return o + body.length;
}

/** The frame of `storedJson(id, seq, ts)` (no body), written without the text; -1 as `putMsgFrame`. */
export function putStoredFrame(out: Uint8Array, at: number, id: number, seq: number, ts: number): number {
  let o = putUint(out, putLit(out, at + FRAME_PREFIX, OK_SEQ), seq);
  o = putTime(out, putLit(out, o, TS), ts);
  o = putLit(out, putUint(out, putLit(out, o, OK_ID), id), END);
  if (o < 0) return -1;
  putLengths(out, at, o, 0);
  return o;
}

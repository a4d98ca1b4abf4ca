/**
 * Frames written in place (pure, no I/O): `putFrame` lays one frame — u32 length, u32 header
 * length, the header's UTF-8 JSON, the body — into a caller's byte array at an offset, so a writer
 * can fill one buffer with many frames (frame.ts `encodeFrame` builds a frame of its own with it:
 * the layout has this one home). `msgJson` and `storedJson` write the JSON of the two frames of
 * every stored message (its `msg` to the recipients and the sender's `ok`) by hand, byte for byte
 * what JSON.stringify gives for the same object (frame_put_test.ts compares them on random
 * values), without building the object.
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
  const hLen = r.written, len = 4 + hLen + bodyLen;
  out[at] = len >>> 24;
  out[at + 1] = (len >>> 16) & 255;
  out[at + 2] = (len >>> 8) & 255;
  out[at + 3] = len & 255;
  out[at + 4] = hLen >>> 24;
  out[at + 5] = (hLen >>> 16) & 255;
  out[at + 6] = (hLen >>> 8) & 255;
  out[at + 7] = hLen & 255;
  return h + hLen;
}

/** Writes a whole frame (`putHead`, then `body`); returns where it ends, or -1 when it does not fit. */
export function putFrame(out: Uint8Array, at: number, json: string, body: Uint8Array): number {
  const o = putHead(out, at, json, body.length);
  if (o < 0) return -1;
  if (body.length) out.set(body, o);
  return o + body.length;
}

/** Characters JSON writes as they are: printable ASCII other than `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `s` as JSON.stringify writes it. */
export function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
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

/**
 * The binary form of a `msg` event carrying stored rows (bus protocol 3, bus_event.ts BUS_PROTOCOL;
 * issue 73): the plaintext a sealed envelope holds (seal.ts) instead of JSON with base64 bodies, so a
 * node reads a batch's rows without parsing text or decoding base64. Pure: bytes in, bytes out.
 *
 *   plaintext = ROWS_FORMAT (u8) | ts (f64) | seq (f64) | count (u32) | text (u32 byte length | UTF-8)
 *               | from's length (u16) | row × count
 *   row       = seq (f64) | ts (f64) | kind (u8: 0 user, 1 room, 2 broadcast) | has expires (u8 0/1)
 *               [| expires (f64)] | the lengths of mid, sender, target, conv (u16 each) | body (u32 length | bytes)
 *
 * ROUTED_FORMAT (bus protocol 4, cluster.ts: a node's own share of a batch) is the same followed, after
 * the rows, by `ep (f64) | ranges (u32) | (lo f64 | hi f64) × ranges`: the batch's seqs left out as not
 * for that node, and the route epoch of that node the sender judged them by.
 *
 * Every name is in `text`, one after the other in that order (from first), its length counted in
 * UTF-16 units as JavaScript counts: one decoding for the whole event, each name a slice of it.
 * Numbers big-endian; f64 holds the safe integers exactly. A JSON plaintext starts with `{`, never
 * with ROWS_FORMAT, so the two never mix. `decodeRows` checks everything BusRow's schema checks
 * (bus_schema.ts) and refuses a truncated or overlong plaintext, another format byte, bad UTF-8.
 */
import type { PackedRow } from "./bus_event.ts";

/** The first byte of a binary rows plaintext (its layout's version). */
export const ROWS_FORMAT = 1;
/** The first byte of a routed rows plaintext: rows, then the seqs left out and the epoch (bus protocol 4). */
export const ROUTED_FORMAT = 2;
/** At most this many left-out ranges in one event (a batch holds at most MAX_ROWS seqs). */
const MAX_RANGES = 10_000;
/** At most this many rows in one event (as the JSON schema: bus_schema.ts). */
const MAX_ROWS = 10_000;
const MAX_BODY = 512 * 1024;
const KINDS = ["user", "room", "broadcast"] as const;

export interface RowsEnvelope {
  from: string;
  ts: number;
  seq: number;
  rows: readonly PackedRow[];
  /** Routed (ROUTED_FORMAT): the batch's seqs left out, as `[lo, hi]` pairs, and the epoch they were judged by. */
  route?: { ep: number; skip: readonly number[] };
}

const enc = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });
const quick = new TextDecoder();

/** The plaintext of a `msg` event with `rows`, sent by `from` at `ts`. */
export function encodeRows(e: RowsEnvelope): Uint8Array {
  const names: string[] = [e.from];
  let size = 1 + 8 + 8 + 4 + 4 + 2;
  for (const r of e.rows) {
    names.push(r.mid, r.sender, r.target, r.conv);
    size += 8 + 8 + 2 + (r.expires != null ? 8 : 0) + 8 + 4 + r.body.length;
  }
  for (const n of names) if (n.length > 0xffff) throw new RangeError("a row's name is too long for the bus");
  const text = enc.encode(names.join(""));
  const route = e.route;
  if (route) size += 8 + 4 + 8 * route.skip.length;
  const out = new Uint8Array(size + text.length), v = new DataView(out.buffer);
  let at = 0;
  const f64 = (n: number) => (v.setFloat64(at, n), at += 8);
  const u16 = (n: number) => (v.setUint16(at, n), at += 2);
  out[at++] = route ? ROUTED_FORMAT : ROWS_FORMAT;
  f64(e.ts), f64(e.seq);
  v.setUint32(at, e.rows.length), v.setUint32(at + 4, text.length), at += 8;
  out.set(text, at), at += text.length;
  u16(e.from.length);
  for (const r of e.rows) {
    f64(r.seq), f64(r.ts);
    out[at++] = KINDS.indexOf(r.kind);
    out[at++] = r.expires != null ? 1 : 0;
    if (r.expires != null) f64(r.expires);
    u16(r.mid.length), u16(r.sender.length), u16(r.target.length), u16(r.conv.length);
    v.setUint32(at, r.body.length), at += 4;
    out.set(r.body, at), at += r.body.length;
  }
  if (route) {
    f64(route.ep);
    v.setUint32(at, route.skip.length / 2), at += 4;
    for (const n of route.skip) f64(n);
  }
  return out;
}

/** Why a plaintext was refused (bus.refused's reason). */
export class RowsRefused extends Error {}

/**
 * The rows event in `b`, or RowsRefused naming what is wrong. The rows' bodies are views into `b`
 * (no copy: `b` lives as long as one of them).
 */
export function decodeRows(b: Uint8Array): RowsEnvelope | RowsRefused {
  if (b.length < 1 || (b[0] !== ROWS_FORMAT && b[0] !== ROUTED_FORMAT)) {
    return new RowsRefused(`unknown rows format ${b[0] ?? "(empty)"}`);
  }
  const r = new Reader(b, 1);
  try {
    const ts = r.int(), seq = r.int(), count = r.u32();
    if (count > MAX_ROWS) throw new RowsRefused("too many rows");
    r.text = utf8(r.bytes(r.u32()));
    const from = r.str(1, 200);
    const rows: PackedRow[] = new Array(count);
    for (let i = 0; i < count; i++) rows[i] = r.row();
    const route = b[0] === ROUTED_FORMAT ? r.route() : undefined;
    if (r.at !== b.length) throw new RowsRefused("bytes after the rows");
    if (r.cut !== r.text.length) throw new RowsRefused("text after the names");
    return route ? { from, ts, seq, rows, route } : { from, ts, seq, rows };
  } catch (err) {
    if (err instanceof RowsRefused) return err;
    if (err instanceof RangeError) return new RowsRefused("truncated"); // DataView past the end
    throw err;
  }
}

/** UTF-8 as text: the quick decoder, and the strict one only when a replacement character shows (as seal.ts). */
function utf8(b: Uint8Array): string {
  const s = quick.decode(b);
  if (!s.includes("\uFFFD")) return s;
  try {
    return strict.decode(b);
  } catch {
    throw new RowsRefused("not UTF-8");
  }
}

class Reader {
  readonly #v: DataView;
  /** The event's names, and how far they were taken. */
  text = "";
  cut = 0;
  constructor(readonly b: Uint8Array, public at: number) {
    this.#v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8(): number {
    return this.#v.getUint8(this.at++);
  }
  u32(): number {
    const n = this.#v.getUint32(this.at);
    this.at += 4;
    return n;
  }
  /** A safe integer ≥ 0. */
  int(): number {
    const n = this.#v.getFloat64(this.at);
    this.at += 8;
    if (!Number.isSafeInteger(n) || n < 0) throw new RowsRefused("not a count");
    return n;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new RowsRefused("truncated");
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  /** The next name of `min` to `max` UTF-16 units (as the JSON schema counts). */
  str(min: number, max: number): string {
    const n = this.#v.getUint16(this.at);
    this.at += 2;
    if (n < min || n > max) throw new RowsRefused("a name of the wrong length");
    if (this.cut + n > this.text.length) throw new RowsRefused("names past the text");
    return this.text.substring(this.cut, this.cut += n);
  }
  /** A routed event's epoch and left-out ranges (each lo ≤ hi, ascending, none overlapping). */
  route(): { ep: number; skip: number[] } {
    const ep = this.int(), n = this.u32();
    if (n > MAX_RANGES) throw new RowsRefused("too many ranges");
    const skip: number[] = new Array(2 * n);
    for (let i = 0; i < 2 * n; i++) {
      skip[i] = this.int();
      if (i > 0 && skip[i]! < skip[i - 1]! + (i & 1 ? 0 : 2)) throw new RowsRefused("ranges out of order");
    }
    return { ep, skip };
  }
  row(): PackedRow {
    const seq = this.int(), ts = this.int(), kind = KINDS[this.u8()], flag = this.u8();
    if (!kind || flag > 1) throw new RowsRefused("a bad kind or flag");
    const expires = flag ? this.int() : undefined;
    const mid = this.str(0, 200), sender = this.str(1, 64), target = this.str(0, 64), conv = this.str(0, 300);
    const len = this.u32();
    if (len > MAX_BODY) throw new RowsRefused("a body too large");
    const row: PackedRow = { seq, mid, sender, kind, target, conv, ts, body: this.bytes(len) };
    if (expires !== undefined) row.expires = expires;
    return row;
  }
}

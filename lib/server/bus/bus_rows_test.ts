/** bus_rows.ts: the binary rows of a `msg` event — round trips, and every kind of bad input refused. */
import assert from "node:assert/strict";
import {
  decodeRows,
  encodeRows,
  ROUTED_FORMAT,
  ROWS_FORMAT,
  type RowsEnvelope,
  RowsRefused,
} from "./bus_rows.ts";
import type { PackedRow } from "./bus_event.ts";

const row = (i: number, over: Partial<PackedRow> = {}): PackedRow => ({
  seq: 1000 + i,
  mid: `m${i}`,
  sender: "alice",
  kind: "user",
  target: "bob",
  conv: "d:alice:bob",
  ts: 1_700_000_000_000 + i,
  body: new Uint8Array([i & 255, 0, 255, 0x7b]),
  ...over,
});
const env = (rows: PackedRow[]): RowsEnvelope => ({ from: "node-1", ts: 1_700_000_000_123, seq: 1099, rows });
const plain = (rows: readonly PackedRow[]) => rows.map((r) => ({ ...r, body: [...r.body] }));

Deno.test("bus_rows: rows round-trip, every kind, an expiry, empty and non-ASCII names, an empty and a 512 KiB body", () => {
  const rows = [
    row(0),
    row(1, { kind: "room", target: "dev", conv: "r:dev", expires: 9_007_199_254_740_991 }),
    row(2, { kind: "broadcast", target: "", conv: "*", body: new Uint8Array() }),
    row(3, { mid: "é".repeat(100), sender: "zoë", conv: "c".repeat(300) }),
    row(4, { body: new Uint8Array(512 * 1024).fill(7), seq: 0, ts: 0 }),
  ];
  const got = decodeRows(encodeRows(env(rows)));
  assert.ok(!(got instanceof RowsRefused), String(got));
  assert.equal(got.from, "node-1");
  assert.equal(got.ts, 1_700_000_000_123);
  assert.equal(got.seq, 1099);
  assert.deepEqual(plain(got.rows), plain(rows));
  assert.equal("expires" in got.rows[0]!, false, "no expiry key where there was none");
  const none = decodeRows(encodeRows(env([])));
  assert.ok(!(none instanceof RowsRefused) && none.rows.length === 0);
});

Deno.test("bus_rows: the first byte is the format; JSON's `{` is never it", () => {
  const b = encodeRows(env([row(0)]));
  assert.equal(b[0], ROWS_FORMAT);
  assert.notEqual(ROWS_FORMAT, "{".charCodeAt(0));
});

Deno.test("bus_rows: a truncated plaintext is refused at every length, never thrown", () => {
  const b = encodeRows(env([row(0), row(1, { expires: 5 })]));
  for (let n = 0; n < b.length; n++) {
    const got = decodeRows(b.subarray(0, n));
    assert.ok(got instanceof RowsRefused, `cut at ${n} of ${b.length}`);
  }
});

Deno.test("bus_rows: another format byte, bytes after the rows, bad UTF-8, bad numbers and sizes are refused", () => {
  const good = encodeRows(env([row(0)]));
  const bad = (what: string, b: Uint8Array, why: RegExp) => {
    const got = decodeRows(b);
    assert.ok(got instanceof RowsRefused, what);
    assert.match(got.message, why, what);
  };
  const edit = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  bad("a later format", edit((b) => b[0] = ROUTED_FORMAT + 1), /unknown rows format 3/);
  bad("JSON", new TextEncoder().encode('{"from":"x"}'), /unknown rows format/);
  bad("empty", new Uint8Array(), /unknown rows format/);
  bad("a byte more", new Uint8Array([...good, 0]), /bytes after/);
  // ts at 1, seq at 9, count at 17, the text's length at 21, the text at 25, from's length after it,
  // then the row: seq, ts, kind, flag, the four names' lengths.
  const text = new DataView(good.buffer).getUint32(21), at = 25 + text + 2;
  bad("bad UTF-8 in the names", edit((b) => b[25] = 0xff), /UTF-8/);
  bad("a negative time", edit((_, v) => v.setFloat64(1, -1)), /not a count/);
  bad("a fraction", edit((_, v) => v.setFloat64(9, 1.5)), /not a count/);
  bad("more rows than there are", edit((_, v) => v.setUint32(17, 2)), /truncated/);
  bad("too many rows", edit((_, v) => v.setUint32(17, 10_001)), /too many/);
  bad("a text longer than the event", edit((_, v) => v.setUint32(21, good.length)), /truncated/);
  bad("an unknown kind", edit((b) => b[at + 16] = 3), /kind/);
  bad("an expiry flag of 2", edit((b) => b[at + 17] = 2), /flag/);
  bad("names past the text", edit((_, v) => v.setUint16(at + 24, 200)), /past the text/);
  bad("text no name takes", edit((_, v) => v.setUint16(at + 24, 10)), /text after/);
  bad("an empty from", edit((_, v) => v.setUint16(25 + text, 0)), /wrong length/);
  bad("an empty sender", encodeRows(env([row(0, { sender: "" })])), /wrong length/);
  bad("a long target", encodeRows(env([row(0, { target: "t".repeat(65) })])), /wrong length/);
  const body = encodeRows(env([row(0, { body: new Uint8Array(512 * 1024 + 1) })]));
  bad("a body over 512 KiB", body, /too large/);
});

Deno.test("bus_rows: a routed event (format 2) carries its epoch and left-out ranges; ranges out of order or too many are refused", () => {
  const routed = { ...env([row(1)]), route: { ep: 7, skip: [999, 1000, 1002, 1002] } };
  const b = encodeRows(routed);
  assert.equal(b[0], ROUTED_FORMAT);
  const got = decodeRows(b);
  assert.ok(!(got instanceof RowsRefused), String(got));
  assert.deepEqual({ ...got, rows: plain(got.rows) }, { ...routed, rows: plain(routed.rows) });
  const empty = decodeRows(encodeRows({ ...env([]), route: { ep: 0, skip: [] } }));
  assert.ok(!(empty instanceof RowsRefused) && empty.route?.skip.length === 0 && empty.rows.length === 0);
  assert.equal("route" in (decodeRows(encodeRows(env([row(1)]))) as object), false, "format 1 has none");
  for (const skip of [[5, 4], [1, 3, 4, 6], [1, 3, 2, 6]]) {
    const r = decodeRows(encodeRows({ ...env([]), route: { ep: 1, skip } }));
    assert.ok(r instanceof RowsRefused && /out of order/.test(r.message), String(skip));
  }
  const cut = decodeRows(b.subarray(0, b.length - 8));
  assert.ok(cut instanceof RowsRefused && /truncated/.test(cut.message));
});

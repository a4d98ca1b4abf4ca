/**
 * row_crc.ts: the CRC a row carries is the one rows already on disk carry (issue 68) — CRC-32 over
 * the body's bytes and then the UTF-8 of the other columns joined by NUL — checked against a CRC-32
 * written out here byte by byte, for every kind of character, any numbers, with or without
 * `expires`, and against a value fixed once.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type CrcColumns, rowCrc } from "./row_crc.ts";

/** CRC-32 (IEEE, reflected) of `bytes`, one bit at a time: the definition, no table. */
function crc32Bits(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

/** The row's CRC by its definition: the body, then the joined columns' UTF-8. */
function reference(m: CrcColumns): number {
  const meta = new TextEncoder().encode(
    [m.seq, m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.expires ?? ""].map(String).join("\0"),
  );
  const all = new Uint8Array(m.body.length + meta.length);
  all.set(m.body);
  all.set(meta, m.body.length);
  return crc32Bits(all);
}

const row = (o: Partial<CrcColumns> = {}): CrcColumns => ({
  seq: 1_234_567,
  mid: "m0123456789ab",
  sender: "alice",
  kind: "user",
  target: "bob",
  conv: "alice|bob",
  ts: 1_795_948_694_739,
  body: new Uint8Array(100).map((_, i) => i * 7),
  ...o,
});

Deno.test("rowCrc: the same CRC as the joined string's, ASCII, with and without expires", () => {
  for (
    const o of [{}, { expires: 1_795_948_999_000 }, { expires: null }, { expires: 0 }, {
      body: new Uint8Array(),
    }]
  ) {
    assert.equal(rowCrc(row(o)), reference(row(o)));
  }
  assert.equal(rowCrc(row()), 0x2b87f3fc); // a value fixed once: neither side may drift
  assert.equal(
    rowCrc(row({ kind: "broadcast", target: "", conv: "*" })),
    reference(row({ kind: "broadcast", target: "", conv: "*" })),
  );
});

Deno.test("rowCrc: the same CRC for characters of 2, 3 and 4 UTF-8 bytes and lone surrogates", () => {
  for (
    const s of [
      "é",
      "ünïcødé",
      "€",
      "中文",
      "😀",
      "a😀b",
      "\ud800",
      "x\udc00y",
      "\ud83d",
      "\ud800\ud800\udc00",
      "\u07ff\u0800\uffff",
    ]
  ) {
    assert.equal(
      rowCrc(row({ mid: s, sender: s + "s", conv: `${s}|z` })),
      reference(row({ mid: s, sender: s + "s", conv: `${s}|z` })),
      s,
    );
  }
});

Deno.test("rowCrc: any strings and numbers (property)", () => {
  const num = fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.double(), fc.integer());
  fc.assert(
    fc.property(
      fc.string({ unit: "binary" }),
      fc.string({ unit: "grapheme" }),
      fc.string(),
      num,
      num,
      fc.option(num, { nil: undefined }),
      (mid, sender, conv, seq, ts, expires) => {
        const r = row({ mid, sender, conv, seq, ts, expires });
        return rowCrc(r) === reference(r);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("rowCrc: numbers at the edges of their digits", () => {
  for (
    const n of [
      0,
      -0,
      9,
      10,
      99,
      100,
      2 ** 31,
      2 ** 32,
      1e15 - 1,
      1e15,
      Number.MAX_SAFE_INTEGER,
      2 ** 53,
      1e21,
      0.5,
      -1,
    ]
  ) {
    assert.equal(
      rowCrc(row({ seq: n, ts: n, expires: n })),
      reference(row({ seq: n, ts: n, expires: n })),
      String(n),
    );
  }
});

Deno.test("rowCrc: a large body, every byte value", () => {
  const body = new Uint8Array(70_000).map((_, i) => (i * 131) & 0xff);
  assert.equal(rowCrc(row({ body })), reference(row({ body })));
});

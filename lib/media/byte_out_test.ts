import assert from "node:assert/strict";
import { ByteOut, putNumAt, putRgbAt } from "./byte_out.ts";

Deno.test("ByteOut writes numbers, colours and bytes, grows past its first buffer, and copies out", () => {
  const o = new ByteOut(4);
  o.num(0);
  o.byte(0x20);
  o.num(255);
  o.byte(0x20);
  o.num(256);
  o.byte(0x20);
  o.num(123456);
  o.byte(0x20);
  o.rgb(0x0a14ff);
  o.put(new TextEncoder().encode("▀".repeat(10)));
  const text = new TextDecoder().decode(o.bytes());
  assert.equal(text, "0 255 256 123456 10;20;255" + "▀".repeat(10));
  const copy = o.bytes();
  o.reset();
  o.byte(0x41);
  assert.equal(new TextDecoder().decode(o.bytes()), "A");
  assert.equal(copy.length, text.length + 20, "an earlier copy is not changed by later writes");
});

Deno.test("putNumAt and putRgbAt write decimal as String() does, through room() and setLength()", () => {
  const o = new ByteOut(2);
  const nums = [0, 7, 9, 10, 99, 100, 255, 256, 999, 1000, 4096, 9999, 10000, 65535, 99999, 100000, 1234567];
  for (const v of nums) {
    const buf = o.room(16);
    let n = putNumAt(buf, o.length, v);
    buf[n++] = 0x20;
    o.setLength(n);
  }
  const colours = [0x000000, 0xffffff, 0x0a6409, 0x123456];
  for (const c of colours) {
    const n = putRgbAt(o.room(12), o.length, c);
    o.setLength(n);
    o.byte(0x20);
  }
  const want = nums.map((v) => `${v} `).join("") +
    colours.map((c) => `${(c >> 16) & 255};${(c >> 8) & 255};${c & 255} `).join("");
  assert.equal(new TextDecoder().decode(o.bytes()), want);
  assert.throws(() => o.setLength(1 << 20), RangeError);
});

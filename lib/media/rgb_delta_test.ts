import assert from "node:assert/strict";
import fc from "fast-check";
import { applyRgbDelta, encodeRgbDelta } from "./rgb_delta.ts";

Deno.test("RGB delta: applying it to the previous frame gives the frame, for any change pattern", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 300 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 60 }),
    (px, edits) => {
      const prev = Uint8Array.from({ length: px * 3 }, (_, i) => (i * 37) & 0xff);
      const cur = prev.slice();
      for (const [at, v] of edits) cur[at % cur.length] = v;
      const d = encodeRgbDelta(prev, cur, cur.length * 4 + 64);
      assert.ok(d, "with a generous limit there is always a delta");
      assert.deepEqual(applyRgbDelta(prev, d), cur);
    },
  ));
});

Deno.test("RGB delta: an unchanged frame is empty; one changed pixel is one run; a whole change is refused", () => {
  const prev = new Uint8Array(200 * 118 * 3).fill(7);
  assert.deepEqual(encodeRgbDelta(prev, prev.slice()), new Uint8Array(0));
  const one = prev.slice();
  one[3 * 500 + 1] = 9;
  const d = encodeRgbDelta(prev, one)!;
  assert.deepEqual([...d], [244, 1, 0, 0, 1, 0, 0, 0, 7, 9, 7]); // skip 500, 1 pixel
  const all = prev.map((x) => x + 1);
  assert.equal(encodeRgbDelta(prev, all), null, "not smaller than three quarters of the frame");
  assert.equal(encodeRgbDelta(prev, prev.subarray(3)), null, "another size");
});

Deno.test("RGB delta: malformed deltas are refused and the base is left as it was", () => {
  const base = new Uint8Array(30).fill(1);
  const run = (skip: number, count: number, data: number[]) => {
    const b = new Uint8Array(8 + data.length);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, skip, true);
    dv.setUint32(4, count, true);
    b.set(data, 8);
    return b;
  };
  for (
    const bad of [
      run(0, 11, new Array(33).fill(2)), // past the frame (10 pixels)
      run(9, 2, [2, 2, 2, 2, 2, 2]), // runs off the end
      run(0, 2, [2, 2, 2]), // data cut short
      run(0, 0, []), // an empty run
      new Uint8Array([1, 0, 0]), // a cut header
      run(0xffffffff, 1, [2, 2, 2]), // a skip that overflows
    ]
  ) {
    assert.throws(() => applyRgbDelta(base, bad), RangeError);
  }
  assert.ok(base.every((x) => x === 1));
  assert.deepEqual([...applyRgbDelta(base, run(9, 1, [5, 6, 7])).slice(24)], [1, 1, 1, 5, 6, 7]);
});

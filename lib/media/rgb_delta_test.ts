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

Deno.test("RGB delta with a tolerance: every channel within it of the frame, changes past it exact", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 300 }),
    fc.integer({ min: 1, max: 12 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: -30, max: 30 })), { maxLength: 80 }),
    (px, tol, edits) => {
      const prev = Uint8Array.from({ length: px * 3 }, (_, i) => 40 + ((i * 37) % 170));
      const cur = prev.slice();
      for (const [at, dv] of edits) cur[at % cur.length] = prev[at % cur.length]! + dv;
      const got = applyRgbDelta(prev, encodeRgbDelta(prev, cur, cur.length * 4 + 64, tol)!);
      for (let i = 0; i < cur.length; i++) {
        assert.ok(Math.abs(got[i]! - cur[i]!) <= tol, `byte ${i}: ${got[i]} for ${cur[i]}`);
        // A pixel with a channel changed past the tolerance comes exactly.
        const p = i - (i % 3);
        if ([0, 1, 2].some((c) => Math.abs(cur[p + c]! - prev[p + c]!) > tol)) assert.equal(got[i], cur[i]);
      }
    },
  ));
  const prev = new Uint8Array(90).fill(100);
  const small = prev.map((x, i) => (i === 30 ? x + 3 : x));
  assert.deepEqual(encodeRgbDelta(prev, small, undefined, 3), new Uint8Array(0), "3 is within 3");
  assert.equal(encodeRgbDelta(prev, small, undefined, 2)!.length, 8 + 3, "3 is past 2");
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

import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../common/bytes.ts";
import { RawSplitter } from "./raw_splitter.ts";

Deno.test("RawSplitter: whole frames of the given size whatever the chunk boundaries; no partial frame", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 0, max: 6 }),
    fc.integer({ min: 0, max: 39 }),
    fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 12 }),
    (size, n, tail, cuts) => {
      const frames = Array.from(
        { length: n },
        (_, k) => Uint8Array.from({ length: size }, (_, i) => (k * 7 + i) & 0xff),
      );
      const partial = new Uint8Array(Math.min(tail, size - 1)).fill(0xee);
      const all = concatBytes([...frames, partial]);
      const pts = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      const s = new RawSplitter(size);
      const got: Uint8Array[] = [];
      let prev = 0;
      for (const p of [...pts, all.length]) {
        got.push(...s.push(all.subarray(prev, p)));
        prev = p;
      }
      assert.deepEqual(got, frames);
      assert.equal(s.pending, partial.length);
      // Each frame is its own array: later input does not change one already returned.
      if (got.length) {
        const copy = got[0]!.slice();
        s.push(new Uint8Array(size * 2).fill(1));
        assert.deepEqual(got[0], copy);
      }
    },
  ));
});

Deno.test("RawSplitter refuses a size that is not a positive integer", () => {
  for (const bad of [0, -3, 2.5, NaN]) assert.throws(() => new RawSplitter(bad), RangeError);
});

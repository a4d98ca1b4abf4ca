import assert from "node:assert/strict";
import { Slab } from "./slab.ts";

Deno.test("Slab: copies are equal, independent of the source and of each other; big ones get their own buffer", () => {
  const s = new Slab(64, 16);
  const src = Uint8Array.from({ length: 40 }, (_, i) => i);
  const copies: [Uint8Array, number[]][] = [];
  for (let n = 0; n <= 16; n++) {
    const c = s.copy(src.subarray(n, n + n));
    copies.push([c, [...src.subarray(n, n + n)]]);
  }
  src.fill(99); // the read buffer is reused: the copies keep what they were
  for (const [c, want] of copies) assert.deepEqual([...c], want);
  // Views of shared chunks, never overlapping: writing one changes no other.
  copies[5]![0].fill(7);
  for (const [k, [c, want]] of copies.entries()) if (k !== 5) assert.deepEqual([...c], want);
  assert.ok(copies.some(([c]) => c.buffer.byteLength === 64), "small copies share chunks");
  const big = s.copy(new Uint8Array(17).fill(3));
  assert.deepEqual([big.byteOffset, big.buffer.byteLength], [0, 17], "above maxCopy: its own buffer");
  assert.throws(() => new Slab(8, 9), RangeError);
});

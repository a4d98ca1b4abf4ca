import assert from "node:assert/strict";
import { BufferPool } from "./buffer_pool.ts";

Deno.test("BufferPool hands back what it was given, of the size last asked for, at most max", () => {
  const pool = new BufferPool(2);
  const a = pool.take(12), b = pool.take(12), c = pool.take(12);
  assert.equal(pool.made, 3);
  assert.ok(pool.give(a) && pool.give(b));
  assert.equal(pool.give(c), false, "full");
  assert.equal(pool.give(a), false, "already in");
  assert.equal(pool.give(new Uint8Array(9)), false, "another size");
  const again = [pool.take(12), pool.take(12)];
  assert.ok(again.includes(a) && again.includes(b));
  assert.equal(pool.reused, 2);
  pool.give(a);
  const other = pool.take(24);
  assert.notEqual(other.buffer, a.buffer, "a new size starts afresh");
  assert.equal(pool.kept, 0);
  assert.equal(pool.give(a), false, "a buffer of the old size is no longer kept");
});

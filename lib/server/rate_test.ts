import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import { LruMap } from "../common/lru.ts";
import { KeyedBuckets } from "./rate.ts";

Deno.test("KeyedBuckets: a sweep of many fresh keys does not reset a throttle that is being hit", () => {
  const clock = new ManualClock();
  const b = new KeyedBuckets(5 / 60, 5, clock); // the login throttle's shape: 5 a minute
  for (let i = 0; i < 5; i++) assert.ok(b.take("10.0.0.1"));
  assert.equal(b.take("10.0.0.1"), false, "throttled");
  // 250,000 fresh addresses (more than the 100,000-key bound), the attacker retrying in between.
  for (let i = 0; i < 250_000; i++) {
    b.take(`a${i}`);
    if (i % 1000 === 0) assert.equal(b.take("10.0.0.1"), false, `throttle reset after ${i} other keys`);
  }
  assert.equal(b.take("10.0.0.1"), false);
  assert.ok(b.size <= 100_000, `size ${b.size}`);
  clock.advance(12_000); // one token back after 12 s, as before
  assert.ok(b.take("10.0.0.1"));
});

Deno.test("KeyedBuckets: the bound forgets the key used longest ago, one at a time", () => {
  const b = new KeyedBuckets(1, 1, new ManualClock(), 3);
  for (const k of ["a", "b", "c"]) assert.ok(b.take(k));
  assert.equal(b.take("a"), false); // a is now the most recently used
  assert.ok(b.take("d")); // forgets b only
  assert.equal(b.size, 3);
  assert.equal(b.take("a"), false, "a kept its state");
  assert.equal(b.take("c"), false, "c kept its state");
  assert.ok(b.take("b"), "b was forgotten, so it starts full");
});

Deno.test("LruMap evicts the least recently used entry and counts get as a use", () => {
  const m = new LruMap<string, number>(2);
  m.set("x", 1);
  m.set("y", 2);
  assert.equal(m.get("x"), 1);
  m.set("z", 3);
  assert.deepEqual([m.has("x"), m.has("y"), m.has("z")], [true, false, true]);
  assert.throws(() => new LruMap(0), RangeError);
});

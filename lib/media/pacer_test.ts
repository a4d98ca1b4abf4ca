import assert from "node:assert/strict";
import fc from "fast-check";
import { ManualClock } from "../common/clock.ts";
import { Pacer } from "./pacer.ts";

Deno.test("Pacer.delayFor() spaces frames by 1000/fps from the start", () => {
  const clock = new ManualClock(1000);
  const p = new Pacer(25, clock);
  assert.equal(p.delayFor(p.ptsOf(0)), 0);
  assert.equal(p.delayFor(p.ptsOf(1)), 40);
  assert.equal(p.delayFor(p.ptsOf(10)), 400);
  clock.advance(100);
  assert.equal(p.delayFor(p.ptsOf(10)), 300);
  assert.equal(p.delayFor(p.ptsOf(1)), -60); // late: show now
});

Deno.test("Pacer.pause() holds frames and resume() shifts them by the pause length", () => {
  const clock = new ManualClock(0);
  const p = new Pacer(10, clock);
  clock.advance(250);
  p.pause();
  assert.equal(p.delayFor(300), Infinity);
  clock.advance(5000);
  assert.equal(p.position(), 250);
  p.resume();
  assert.equal(p.delayFor(300), 50);
  assert.equal(p.dueAt(300), 5300);
});

Deno.test("Pacer.seek() makes the target due now, also while paused", () => {
  const clock = new ManualClock(0);
  const p = new Pacer(30, clock);
  clock.advance(1000);
  p.seek(3000);
  assert.equal(p.delayFor(3000), 0);
  assert.equal(p.position(), 3000);
  p.pause();
  clock.advance(400);
  p.seek(500);
  clock.advance(100);
  p.resume();
  assert.equal(p.delayFor(500), 0);
  assert.equal(Math.round(p.delayFor(p.ptsOf(16))), 33);
});

Deno.test("Pacer.dueAt() is monotonic in pts and equals start + pts for any fps (fast-check)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 120 }), fc.nat(10_000), (fps, i) => {
      const clock = new ManualClock(0);
      const p = new Pacer(fps, clock);
      assert.ok(p.dueAt(p.ptsOf(i + 1)) > p.dueAt(p.ptsOf(i)));
      assert.ok(Math.abs(p.dueAt(p.ptsOf(i)) - (i * 1000) / fps) < 1e-6);
      assert.equal(p.indexAt(p.ptsOf(i)), i);
    }),
  );
});

Deno.test("Pacer constructor rejects a non-positive frame rate", () => {
  assert.throws(() => new Pacer(0, new ManualClock()), RangeError);
});

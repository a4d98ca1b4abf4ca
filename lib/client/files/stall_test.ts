/**
 * stall.ts (issue 36, issue 70 item 11): a transfer fails `ms` after its last progress, not a
 * millisecond earlier — `check()`, `left()` and `race()` on a hand-driven clock; only a larger
 * figure than before counts as progress.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { Stall } from "./stall.ts";

const stalled = { code: "transfer_stalled" };

Deno.test("stall: check() and left() agree — the bound passes exactly ms after the last progress", () => {
  const clock = new ManualClock();
  const s = new Stall(60_000, "the relay", () => clock.now());
  assert.equal(s.left(), 60_000);
  clock.advance(59_999);
  assert.equal(s.left(), 1);
  s.check(); // a millisecond to go: no failure yet
  clock.advance(1);
  assert.equal(s.left(), 0);
  assert.throws(() => s.check(), stalled, "at the bound");
  assert.throws(() => s.check(), /No progress for 60 s waiting for the relay/);
  clock.advance(5_000);
  assert.equal(s.left(), 0, "never below 0");
  assert.throws(() => s.check(), stalled);
  // Progress starts the count again; the same figure once more is no progress.
  s.moved(100);
  assert.equal(s.left(), 60_000);
  clock.advance(30_000);
  s.moved(100);
  assert.equal(s.left(), 30_000, "no new byte: the count goes on");
  s.moved(99);
  assert.equal(s.left(), 30_000, "a smaller figure is no progress either");
  clock.advance(29_999);
  s.check();
  clock.advance(1);
  assert.throws(() => s.check(), stalled);
});

Deno.test("stall: race() answers a promise that settles, fails at once past the bound, and at its end", async () => {
  const clock = new ManualClock();
  const s = new Stall(1_000, "the peer", () => clock.now());
  assert.equal(await s.race(Promise.resolve("chunk")), "chunk");
  clock.advance(999);
  // One millisecond left: a promise that never settles fails after it (a real 1 ms timer).
  await assert.rejects(s.race(new Promise(() => {})), stalled);
  clock.advance(1);
  // Past the bound: refused before waiting, even for a promise already settled.
  await assert.rejects(s.race(Promise.resolve("late")), stalled);
});

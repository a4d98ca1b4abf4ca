/**
 * stall.ts (issue 36, issue 70 item 11): a transfer fails `ms` after its last progress, not a
 * millisecond earlier — `check()`, `left()`, `race()` and `watch()` (peer mode's bound) on a
 * hand-driven clock; only a larger figure than before counts as progress.
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

Deno.test("stall: watch() tells the stall once the bound passed since the last progress, not a millisecond before", async () => {
  const clock = new ManualClock();
  const s = new Stall(100, "data of f from alice", () => clock.now(), "paused until alice offers it again");
  // Each look of the watch's timer is seen here (the real timer fires after `left()` real ms).
  const looked: number[] = [];
  let nextLook = Promise.withResolvers<void>();
  const left = s.left.bind(s);
  s.left = () => {
    const l = left();
    looked.push(l);
    nextLook.resolve();
    return l;
  };
  const fired = Promise.withResolvers<Error>();
  let told = false;
  const stop = s.watch((e) => (told = true, fired.resolve(e)));
  looked.length = 0;
  clock.advance(20);
  s.moved(5); // progress at 20: the bound is now 120
  clock.advance(99); // 119: one millisecond to go
  nextLook = Promise.withResolvers();
  await nextLook.promise;
  assert.deepEqual(looked, [1], "the timer looked: 1 ms left, nothing told");
  assert.equal(told, false);
  clock.advance(1);
  const e = await fired.promise;
  assert.equal((e as Error & { code?: string }).code, "transfer_stalled");
  assert.match(
    e.message,
    /No progress for 0\.1 s waiting for data of f from alice; paused until alice offers/,
  );
  stop();
});

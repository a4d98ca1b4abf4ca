/**
 * LocalPlayback (peer mode's watch together) on the sample video (4 s) with the real ffmpeg: frames fit the
 * pane with the aspect kept, start at the position asked, are never handed over more than the lead
 * ahead of the playhead, none while paused, and a seek restarts at the new position. Time is the
 * test's (`ManualTimers`): it moves when the playback waits on it, and while paused by the test's hand.
 */
import assert from "node:assert/strict";
import { ManualTimers } from "../../common/clock_testing.ts";
import { findFfmpeg } from "../../media/mod.ts";
import { fitSize, LOCAL_LEAD_MS, openLocalPlayback } from "./local_playback.ts";
import { until } from "../../common/wait_testing.ts";

const ffmpeg = findFfmpeg({ get: (n) => Deno.env.get(n) });
const SAMPLE = new URL("../../../videos/sample.mp4", import.meta.url).pathname;

Deno.test("fitSize keeps the aspect, never scales up, and gives even sizes", () => {
  assert.deepEqual(fitSize(1280, 720, { width: 200, height: 200 }), { width: 200, height: 112 });
  assert.deepEqual(fitSize(320, 240, { width: 2000, height: 2000 }), { width: 320, height: 240 });
  assert.deepEqual(fitSize(101, 51, { width: 51, height: 100 }), { width: 50, height: 24 });
});

/**
 * Waits for `p` on `timers`' time: whenever the playback waits on a timer (a frame not due yet, a nap
 * while paused) the clock moves to its end at once; ffmpeg's frames come as they come.
 */
async function drive<T>(timers: ManualTimers, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  while (!done) {
    if (timers.pending) timers.advance(timers.asked.at(-1)!); // one wait at a time: the last one set
    await turn();
  }
  return await p;
}

/** One turn of the event loop (ffmpeg's pipe may have been read meanwhile). */
const turn = () => new Promise((r) => setTimeout(r, 0));

/** Turns until `ok` holds; a failure after 20 s (a deadline, not a measure). */

Deno.test({
  name: "LocalPlayback: starts where asked, paced to the lead, holds while paused, restarts at a seek",
  ignore: ffmpeg === null,
  fn: async () => {
    const timers = new ManualTimers(); // time moves only when the test says
    const now = () => timers.clock.now();
    const p = await openLocalPlayback(ffmpeg!, SAMPLE, 1000, { width: 160, height: 120 }, now, timers);
    try {
      const first = (await drive(timers, p.next()))!;
      assert.ok(first.pts >= 1000 && first.pts < 1100, `first pts ${first.pts}`);
      assert.ok(
        first.width <= 160 && first.height <= 120 && first.data[0] === 0xff,
        "a JPEG fitting the pane",
      );
      for (let i = 0; i < 30; i++) {
        const f = (await drive(timers, p.next()))!;
        assert.ok(f.pts - p.position <= LOCAL_LEAD_MS, `frame ${f.pts} at ${p.position}`);
      }
      await p.pause();
      let settled = false, naps = timers.asked.length;
      const held = p.next();
      held.then(() => (settled = true), () => (settled = true));
      // Paused, it waits for a poke: each nap that ends (time passes, 5 s here) is followed by the next
      // one, and never by a frame.
      for (let k = 0; k < 5; k++) {
        await until(
          () => settled || timers.asked.length > naps,
          "the paused playback waits again",
          20_000,
          1,
        );
        assert.equal(settled, false, `no frame while paused (${k} s)`);
        naps = timers.asked.length;
        timers.advance(1000);
      }
      await p.seek(3000);
      await p.resume();
      const after = (await drive(timers, held))!;
      assert.ok(after.pts >= 3000 && after.pts < 3100, `after the seek: ${after.pts}`);
    } finally {
      await p.stop();
    }
    assert.equal(await p.next(), null, "stopped");
  },
});

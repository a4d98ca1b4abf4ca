/**
 * LocalPlayback (peer mode's watch together) on the sample video (4 s) with the real ffmpeg: frames fit the
 * pane with the aspect kept, start at the position asked, are never handed over more than the lead
 * ahead of the playhead, none while paused, and a seek restarts at the new position.
 */
import assert from "node:assert/strict";
import { findFfmpeg } from "../../media/mod.ts";
import { fitSize, LOCAL_LEAD_MS, openLocalPlayback } from "./local_playback.ts";

const ffmpeg = findFfmpeg({ get: (n) => Deno.env.get(n) });
const SAMPLE = new URL("../../../videos/sample.mp4", import.meta.url).pathname;

Deno.test("fitSize keeps the aspect, never scales up, and gives even sizes", () => {
  assert.deepEqual(fitSize(1280, 720, { width: 200, height: 200 }), { width: 200, height: 112 });
  assert.deepEqual(fitSize(320, 240, { width: 2000, height: 2000 }), { width: 320, height: 240 });
  assert.deepEqual(fitSize(101, 51, { width: 51, height: 100 }), { width: 50, height: 24 });
});

Deno.test({
  name: "LocalPlayback: starts where asked, paced to the lead, holds while paused, restarts at a seek",
  ignore: ffmpeg === null,
  fn: async () => {
    const p = await openLocalPlayback(ffmpeg!, SAMPLE, 1000, { width: 160, height: 120 }, () => Date.now());
    try {
      const first = (await p.next())!;
      assert.ok(first.pts >= 1000 && first.pts < 1100, `first pts ${first.pts}`);
      assert.ok(
        first.width <= 160 && first.height <= 120 && first.data[0] === 0xff,
        "a JPEG fitting the pane",
      );
      for (let i = 0; i < 30; i++) {
        const f = (await p.next())!;
        assert.ok(f.pts - p.position <= LOCAL_LEAD_MS + 5, `frame ${f.pts} at ${p.position}`);
      }
      await p.pause();
      const held = p.next();
      const race = await Promise.race([held, new Promise((r) => setTimeout(() => r("held"), 400))]);
      assert.equal(race, "held", "no frame while paused");
      await p.seek(3000);
      await p.resume();
      const after = (await held)!;
      assert.ok(after.pts >= 3000 && after.pts < 3100, `after the seek: ${after.pts}`);
    } finally {
      await p.stop();
    }
    assert.equal(await p.next(), null, "stopped");
  },
});

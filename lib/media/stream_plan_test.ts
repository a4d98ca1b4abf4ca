import assert from "node:assert/strict";
import { ManualClock } from "../common/clock.ts";
import type { VideoInfo } from "./library.ts";
import { SegmentPlanner } from "./stream_plan.ts";

const VIDEO: VideoInfo = {
  name: "clip",
  duration: 60,
  fps: 24,
  width: 1920,
  height: 1080,
  renditions: ["240p", "720p", "1080p"],
};

/** Runs the adaptive check every 500 ms for `ms`, with the server seeing every frame taken. */
function drive(p: SegmentPlanner, clock: ManualClock, ms: number): boolean {
  const seg = p.plan(0)!;
  for (let t = 0; t < ms; t += 500) {
    clock.advance(500);
    if (p.wantsRestart(seg, true, 0, () => ({ fps: 24, bytesPerFrame: 50_000 }))) return true;
  }
  return false;
}

Deno.test("SegmentPlanner: a viewer that reports drawing fewer frames than it takes is stepped down", () => {
  const clock = new ManualClock(0);
  const p = new SegmentPlanner(VIDEO, clock, "adaptive", { width: 2000, height: 1180 });
  assert.equal(p.plan(0)!.rendition, "720p"); // the start cap, though the pane wants 1080p
  // Without a report the server sees every frame taken: good delivery, so it steps up.
  assert.equal(drive(p, clock, 4000), true);
  assert.equal(p.plan(0)!.rendition, "1080p");
  const q = new SegmentPlanner(VIDEO, clock, "adaptive", { width: 2000, height: 1180 });
  q.plan(0);
  const report = () => (q.viewer = { fps: 12, load: 1, at: clock.now() });
  report();
  const seg = q.plan(0)!;
  let restarted = false;
  for (let t = 0; t < 4000 && !restarted; t += 500) {
    clock.advance(500);
    report();
    restarted = q.wantsRestart(seg, true, 0, () => ({ fps: 24, bytesPerFrame: 50_000 }));
  }
  assert.ok(restarted);
  assert.equal(q.plan(0)!.rendition, "240p");
});

Deno.test("SegmentPlanner: a stale report (over 3 s old) no longer counts", () => {
  const clock = new ManualClock(0);
  const p = new SegmentPlanner(VIDEO, clock, "adaptive", { width: 2000, height: 1180 });
  p.plan(0);
  p.viewer = { fps: 5, load: 1, at: -10_000 };
  assert.equal(drive(p, clock, 4000), true);
  assert.equal(p.plan(0)!.rendition, "1080p", "as without a report: up, not down");
});

Deno.test("SegmentPlanner: a viewer near its limit is not stepped up; one with room is", () => {
  for (const [load, want] of [[0.6, "720p"], [0.2, "1080p"]] as const) {
    const clock = new ManualClock(0);
    const p = new SegmentPlanner(VIDEO, clock, "adaptive", { width: 2000, height: 1180 });
    p.plan(0);
    const seg = p.plan(0)!;
    for (let t = 0; t < 6000; t += 500) {
      clock.advance(500);
      p.viewer = { fps: 24, load, at: clock.now() };
      if (p.wantsRestart(seg, true, 0, () => ({ fps: 24, bytesPerFrame: 50_000 }))) break;
    }
    assert.equal(p.plan(0)!.rendition, want, `load ${load}`);
  }
});

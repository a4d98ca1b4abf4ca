import assert from "node:assert/strict";
import fc from "fast-check";
import { nearestRendition, planThirds, segmentForFrame } from "./thirds.ts";

Deno.test("planThirds() gives each rendition one third, in order 240p, 720p, 1080p", () => {
  assert.deepEqual(planThirds(96), [
    { rendition: "240p", startFrame: 0, endFrame: 32 },
    { rendition: "720p", startFrame: 32, endFrame: 64 },
    { rendition: "1080p", startFrame: 64, endFrame: 96 },
  ]);
  const counts = planThirds(100).map((s) => [s.rendition, s.endFrame - s.startFrame]);
  assert.deepEqual(counts, [["240p", 33], ["720p", 34], ["1080p", 33]]);
});

Deno.test("planThirds() covers every frame once with near-equal thirds (fast-check)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 100_000 }), (n) => {
      const plan = planThirds(n);
      assert.deepEqual(plan.map((s) => s.rendition), ["240p", "720p", "1080p"]);
      assert.equal(plan[0]!.startFrame, 0);
      assert.equal(plan.at(-1)!.endFrame, n);
      for (let i = 1; i < plan.length; i++) assert.equal(plan[i]!.startFrame, plan[i - 1]!.endFrame);
      const sizes = plan.map((s) => s.endFrame - s.startFrame);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }),
  );
});

Deno.test("planThirds() falls back to lower renditions and merges equal neighbours", () => {
  assert.deepEqual(planThirds(30, ["240p", "720p"]), [
    { rendition: "240p", startFrame: 0, endFrame: 10 },
    { rendition: "720p", startFrame: 10, endFrame: 30 },
  ]);
  assert.deepEqual(planThirds(30, ["240p"]), [{ rendition: "240p", startFrame: 0, endFrame: 30 }]);
  assert.deepEqual(planThirds(30, []), []);
  assert.deepEqual(planThirds(0), []);
});

Deno.test("nearestRendition() prefers lower, then higher", () => {
  assert.equal(nearestRendition("720p", ["240p", "1080p"]), "240p");
  assert.equal(nearestRendition("240p", ["720p", "1080p"]), "720p");
  assert.equal(nearestRendition("1080p", ["1080p"]), "1080p");
});

Deno.test("segmentForFrame() finds the serving segment", () => {
  const plan = planThirds(90);
  assert.equal(segmentForFrame(plan, 0)!.rendition, "240p");
  assert.equal(segmentForFrame(plan, 29)!.rendition, "240p");
  assert.equal(segmentForFrame(plan, 30)!.rendition, "720p");
  assert.equal(segmentForFrame(plan, 89)!.rendition, "1080p");
  assert.equal(segmentForFrame(plan, 500)!.rendition, "1080p");
});

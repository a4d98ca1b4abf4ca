import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AdaptiveInput,
  type AdaptiveState,
  adaptiveStep,
  initialAdaptive,
  sizeChanged,
  targetSize,
  wantedRendition,
} from "./adaptive.ts";
import { RENDITIONS } from "./thirds.ts";

const ALL = RENDITIONS;
function input(over: Partial<AdaptiveInput>): AdaptiveInput {
  return {
    now: 0,
    paneWidth: 1920,
    paneHeight: 1080,
    available: ALL,
    sourceFps: 24,
    deliveredFps: 24,
    bytesPerFrame: 20_000,
    ...over,
  };
}

Deno.test("wantedRendition() picks the smallest rendition covering the pane height", () => {
  assert.equal(wantedRendition(200, ALL), "240p");
  assert.equal(wantedRendition(480, ALL), "720p");
  assert.equal(wantedRendition(721, ALL), "1080p");
  assert.equal(wantedRendition(4000, ALL), "1080p");
  assert.equal(wantedRendition(4000, ["240p"]), "240p");
  assert.equal(wantedRendition(100, []), null);
});

Deno.test("targetSize() fits the source aspect in the pane, capped at the rendition", () => {
  assert.deepEqual(targetSize(1920, 1080, "720p", 4000, 4000), { width: 1280, height: 720 });
  assert.deepEqual(targetSize(1920, 1080, "720p", 640, 640), { width: 640, height: 360 });
  assert.deepEqual(targetSize(1920, 1080, "1080p", 800, 300), { width: 532, height: 300 });
  assert.deepEqual(targetSize(640, 360, "1080p", 4000, 4000), { width: 640, height: 360 }); // no upscale
});

Deno.test("targetSize() always returns even sizes inside the pane (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 16, max: 4000 }),
      fc.integer({ min: 16, max: 4000 }),
      fc.integer({ min: 2, max: 5000 }),
      fc.integer({ min: 2, max: 5000 }),
      fc.constantFrom(...ALL),
      (sw, sh, pw, ph, r) => {
        const t = targetSize(sw, sh, r, pw, ph);
        assert.equal(t.width % 2, 0);
        assert.equal(t.height % 2, 0);
        assert.ok(t.width <= Math.max(2, pw) && t.height <= Math.max(2, ph));
      },
    ),
  );
});

Deno.test("sizeChanged() ignores small differences", () => {
  assert.equal(sizeChanged({ width: 800, height: 450 }, { width: 810, height: 456 }), false);
  assert.equal(sizeChanged({ width: 800, height: 450 }, { width: 400, height: 226 }), true);
});

Deno.test("initialAdaptive() starts at most at 720p, or lower for a small pane", () => {
  assert.equal(initialAdaptive(input({})).rendition, "720p");
  assert.equal(initialAdaptive(input({}), 12_000, "1080p").rendition, "1080p");
  assert.equal(initialAdaptive(input({ paneHeight: 200 })).rendition, "240p");
});

Deno.test("adaptiveStep() steps up from the start cap only while the viewer's load leaves room", () => {
  const at720: AdaptiveState = { rendition: "720p", changedAt: 0, goodSince: null, badSince: null };
  const up = (load: number | undefined) => {
    let s = adaptiveStep(at720, input({ now: 2000, viewerLoad: load }));
    s = adaptiveStep(s, input({ now: 4600, viewerLoad: load }));
    return s.rendition;
  };
  // 1080p draws 2.25× the pixels of 720p: a load of 0.3 becomes 0.68 (≤ 0.75), 0.4 becomes 0.9.
  assert.equal(up(0.3), "1080p");
  assert.equal(up(0.4), "720p");
  assert.equal(up(undefined), "1080p"); // a viewer that says nothing: delivery alone decides
});

Deno.test("adaptiveStep() steps down after a sustained shortfall, not before", () => {
  let s = initialAdaptive(input({}), 12_000, "1080p");
  assert.equal(s.rendition, "1080p");
  s = adaptiveStep(s, input({ now: 2000, deliveredFps: 10 }));
  assert.equal(s.rendition, "1080p");
  s = adaptiveStep(s, input({ now: 2500, deliveredFps: 10 }));
  assert.equal(s.rendition, "1080p");
  s = adaptiveStep(s, input({ now: 3000, deliveredFps: 10 }));
  assert.equal(s.rendition, "720p");
  // Cooldown: no further change right away even if still bad.
  s = adaptiveStep(s, input({ now: 3500, deliveredFps: 5 }));
  assert.equal(s.rendition, "720p");
});

Deno.test("adaptiveStep() steps up after sustained good delivery with throughput headroom", () => {
  let s: AdaptiveState = { rendition: "240p", changedAt: 0, goodSince: null, badSince: null };
  s = adaptiveStep(s, input({ now: 2000, throughputBps: 10_000_000 }));
  assert.equal(s.rendition, "240p");
  s = adaptiveStep(s, input({ now: 4600, throughputBps: 10_000_000 }));
  assert.equal(s.rendition, "720p");
  // Not enough throughput for the next step: stay.
  let t: AdaptiveState = { rendition: "240p", changedAt: 0, goodSince: null, badSince: null };
  t = adaptiveStep(t, input({ now: 2000, throughputBps: 500_000 }));
  t = adaptiveStep(t, input({ now: 9000, throughputBps: 500_000 }));
  assert.equal(t.rendition, "240p");
});

Deno.test("adaptiveStep() goes down at once when the pane shrinks and never above the pane", () => {
  let s = initialAdaptive(input({}));
  s = adaptiveStep(s, input({ now: 10, paneHeight: 200, paneWidth: 350 }));
  assert.equal(s.rendition, "240p");
  for (let t = 100; t < 20_000; t += 500) s = adaptiveStep(s, input({ now: t, paneHeight: 200 }));
  assert.equal(s.rendition, "240p");
});

Deno.test("initialAdaptive() lowers the start when throughput is known to be small", () => {
  const s = initialAdaptive(input({ throughputBps: 200_000 }));
  assert.equal(s.rendition, "240p");
});

Deno.test("adaptiveStep() only ever picks available renditions (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.subarray([...ALL], { minLength: 1 }),
      fc.array(fc.record({ fps: fc.integer({ min: 0, max: 30 }), h: fc.integer({ min: 50, max: 2000 }) }), {
        maxLength: 40,
      }),
      (av, steps) => {
        let s = initialAdaptive(input({ available: av }));
        let now = 0;
        for (const st of steps) {
          now += 400;
          s = adaptiveStep(s, input({ now, available: av, deliveredFps: st.fps, paneHeight: st.h }));
          assert.ok(av.includes(s.rendition));
        }
      },
    ),
  );
});

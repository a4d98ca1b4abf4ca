import assert from "node:assert/strict";
import { readReleaseFigures, type ReleaseFigures, releaseVerdict } from "./terminal_release.ts";
import { KINDS, PANES } from "./terminal_video.ts";

const figures: ReleaseFigures = {
  release: "0.21.0",
  how: "test",
  clipSeconds: 8,
  ratios: { "halfblock 200x60": { median: 0.6, min: 0.55, max: 0.65 } },
};

Deno.test("release check: over the recorded median by more than its range is a regression, up to it is not", () => {
  assert.equal(
    releaseVerdict(figures, "halfblock 200x60", 0.7, 8)?.regressed,
    false,
    "0.6 + 0.1 is the limit",
  );
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 0.71, 8)?.regressed, true);
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 0.3, 8)?.regressed, false);
  assert.equal(releaseVerdict(figures, "kitty 80x24", 9, 8), null, "nothing recorded: no verdict");
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 9, 20), null, "another clip length: no verdict");
  assert.equal(releaseVerdict(null, "halfblock 200x60", 9, 8), null);
});

Deno.test("release check: a run noisier than the recorded one is judged against its own range", () => {
  // Recorded range 0.1; this run's plays spread over 0.2: a median of 0.75 is within it.
  const noisy = [0.62, 0.75, 0.82];
  assert.deepEqual(releaseVerdict(figures, "halfblock 200x60", 0.75, 8, noisy), {
    limit: 0.6 + (0.82 - 0.62),
    regressed: false,
    release: "0.21.0",
  });
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 0.75, 8)?.regressed, true, "without samples: 0.7");
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 0.85, 8, noisy)?.regressed, true);
  // A quiet run keeps the recorded range.
  assert.equal(releaseVerdict(figures, "halfblock 200x60", 0.71, 8, [0.7, 0.71, 0.72])?.regressed, true);
});

Deno.test("release check: the recorded file names its clip length and has a figure for every renderer and pane", async () => {
  const f = await readReleaseFigures();
  assert.ok(f && f.clipSeconds > 0);
  for (const r of Object.values(f.ratios)) assert.ok(r.min <= r.median && r.median <= r.max);
  const missing = KINDS.flatMap((k) => PANES.map(([c, r]) => `${k} ${c}x${r}`)).filter((key) =>
    !f.ratios[key]
  );
  assert.deepEqual(missing, [], "renderers and panes the bench plays without a recorded figure");
});

import assert from "node:assert/strict";
import { readReleaseFigures, type ReleaseFigures, releaseVerdict } from "./terminal_release.ts";

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

Deno.test("release check: the recorded file beside the bench reads and names its clip length", async () => {
  const f = await readReleaseFigures();
  assert.ok(f && f.clipSeconds > 0 && Object.keys(f.ratios).length > 0);
  for (const r of Object.values(f.ratios)) assert.ok(r.min <= r.median && r.median <= r.max);
});

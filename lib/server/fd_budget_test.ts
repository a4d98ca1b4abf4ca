import assert from "node:assert/strict";
import { FD_SLACK, FDS_PER_FFMPEG, FILE_HANDLES, fitFdBudget } from "./fd_budget.ts";

const want = { maxConns: 10_000, refuseMargin: 64, maxVideoStreams: 64 };

Deno.test("fd budget: caps that fit are kept, and the need counts every descriptor", () => {
  const fit = fitFdBudget(1 << 20, 41, want);
  assert.equal(fit.lowered, false);
  assert.deepEqual([fit.maxConns, fit.refuseMargin, fit.maxVideoStreams], [10_000, 64, 64]);
  assert.equal(fit.need, 41 + FILE_HANDLES + FD_SLACK + 10_000 + 64 + 64 * FDS_PER_FFMPEG);
});

Deno.test("fd budget: under a small limit everything held at the caps stays below it", () => {
  for (const limit of [100, 160, 256, 1024, 4096]) {
    for (const video of [0, 64]) {
      const fit = fitFdBudget(limit, 41, { ...want, maxVideoStreams: video });
      assert.ok(fit.lowered);
      const held = 41 + FILE_HANDLES + FD_SLACK + fit.maxConns + fit.refuseMargin +
        fit.maxVideoStreams * FDS_PER_FFMPEG;
      assert.ok(held <= limit || fit.maxConns === 1, `limit ${limit}: ${held} held at the caps`);
      assert.ok(fit.maxConns >= 1);
    }
  }
  // Issue 33 point 3: ulimit -n 160 used to allow 96 connections plus 64 refusals beside ~41 open.
  const at160 = fitFdBudget(160, 41, want);
  assert.ok(at160.maxConns + at160.refuseMargin <= 160 - 41 - FILE_HANDLES - FD_SLACK);
});

Deno.test("fd budget: the --metrics listener's descriptors are counted (issue 69 N1)", () => {
  const without = fitFdBudget(1 << 20, 41, want);
  const withMetrics = fitFdBudget(1 << 20, 41, { ...want, metricsFds: 17 });
  assert.equal(withMetrics.need, without.need + 17);
  const at160 = fitFdBudget(160, 41, { ...want, metricsFds: 17 });
  assert.ok(at160.maxConns + at160.refuseMargin <= 160 - 41 - FILE_HANDLES - FD_SLACK - 17);
});

/**
 * The tools the end-to-end tests drive (ffmpeg for video, tmux for the full-screen client). Off CI a
 * test that needs a missing tool skips itself; on CI (`CI=true`) a missing tool fails here, by name,
 * so the suite never passes by silently running less of itself (issue 11).
 */
import assert from "node:assert/strict";
import { testFfmpeg } from "./helpers.ts";
import { hasTmux } from "./tmux.ts";

Deno.test({
  name: "CI has every tool the suite needs (ffmpeg; tmux outside Windows)",
  ignore: Deno.env.get("CI") !== "true",
  fn: () => {
    assert.ok(testFfmpeg(), "ffmpeg is missing: install it (apt install ffmpeg) or set PARLEY_FFMPEG");
    if (Deno.build.os !== "windows") assert.ok(hasTmux, "tmux is missing: install it (apt install tmux)");
  },
});

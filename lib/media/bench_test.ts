import assert from "node:assert/strict";
import { benchMedia } from "./bench.ts";
import { SAMPLE_VIDEO, TEST_FFMPEG } from "./_testing.ts";

Deno.test({
  name: "benchMedia() returns a finite row for every bench item",
  ignore: TEST_FFMPEG === null,
  fn: async () => {
    const rows = await benchMedia({ ffmpeg: TEST_FFMPEG!, video: SAMPLE_VIDEO, frames: 6, repeat: 2 });
    const names = rows.map((r) => r.name).join("\n");
    for (
      const want of [
        "extract 240p",
        "extract 720p",
        "extract 1080p",
        "first frame latency",
        "render halfblock 80×24",
      ]
    ) {
      assert.ok(names.includes(want), want);
    }
    for (const k of ["kitty", "sixel"]) {
      assert.equal(rows.filter((r) => r.name.includes(k)).length, 2);
    }
    for (const size of ["80x24", "200x60"]) {
      assert.ok(names.includes(`video bytes/frame halfblock ${size} (parley)`), size);
    }
    assert.equal(rows.filter((r) => r.name.includes("halfblock")).length, 8);
    for (const r of rows) assert.ok(Number.isFinite(r.value) && r.value > 0, `${r.name}: ${r.value}`);
  },
});

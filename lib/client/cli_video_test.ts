import assert from "node:assert/strict";
import { FfmpegJpegDecoder, JpegDecoder } from "../media/mod.ts";
import { playDecoder } from "./cli_video.ts";

Deno.test("playDecoder(): ffmpeg for every renderer when installed; without it WASM for pixels, in-thread half-blocks", () => {
  for (const kind of ["halfblock", "kitty", "sixel", undefined] as const) {
    const d = playDecoder("/usr/bin/ffmpeg", kind);
    assert.ok(d instanceof FfmpegJpegDecoder, String(kind));
    d.close(); // never started: nothing to reap
  }
  assert.equal(playDecoder(null, "halfblock"), undefined);
  for (const kind of ["kitty", "sixel", undefined] as const) {
    const d = playDecoder(null, kind);
    assert.ok(d instanceof JpegDecoder, String(kind));
    d.close();
  }
});

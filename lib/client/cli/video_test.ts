import assert from "node:assert/strict";
import { FfmpegJpegDecoder, type GraphicsKind, JpegDecoder } from "../../media/mod.ts";
import jpegJs from "jpeg-js";
import { TEST_FFMPEG } from "../../media/_testing.ts";
import { playDecoder } from "./video_actions.ts";

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

Deno.test({
  name:
    "playDecoder(): kitty frames decode to RGB; half-block (through YUV) and sixel (and an unknown kind) to RGBA",
  ignore: !TEST_FFMPEG,
  fn: async () => {
    const jpeg = new Uint8Array(
      jpegJs.encode({ width: 8, height: 6, data: new Uint8Array(8 * 6 * 4) }, 90).data,
    );
    const outputs = [["kitty", 3, "rgb"], ["sixel", 4, "rgba"], ["halfblock", 4, "yuv"], [
      undefined,
      4,
      "rgba",
    ]];
    for (const [kind, bytes, output] of outputs as [GraphicsKind | undefined, number, string][]) {
      const d = playDecoder(TEST_FFMPEG!, kind) as FfmpegJpegDecoder;
      assert.equal(d.output, output, String(kind));
      try {
        const img = await d.decode(jpeg);
        assert.equal(img.data.length, 8 * 6 * bytes, String(kind));
        assert.equal(img.channels ?? 4, bytes);
      } finally {
        await d.closed();
      }
    }
  },
});

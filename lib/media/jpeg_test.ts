import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { decodeJpeg, fitInto, lastDecoder, scaleBox, scaleNearest } from "./jpeg.ts";
import { goldenImage } from "./_testing.ts";

Deno.test("decodeJpeg() decodes with @jsquash/jpeg (WASM) to RGBA of the right size", async () => {
  const src = goldenImage();
  const jpeg = jpegJs.encode({ ...src, data: src.data }, 95).data;
  const img = await decodeJpeg(new Uint8Array(jpeg));
  assert.equal(lastDecoder, "jsquash");
  assert.deepEqual([img.width, img.height, img.data.length], [48, 32, 48 * 32 * 4]);
  const i = (16 * 48 + 24) * 4; // inside the white square
  assert.ok(img.data[i]! > 240 && img.data[i + 1]! > 240 && img.data[i + 2]! > 240);
});

Deno.test("decodeJpeg() rejects garbage with SyntaxError and keeps the WASM decoder for the next frame", async () => {
  const src = goldenImage();
  const good = new Uint8Array(jpegJs.encode({ ...src, data: src.data }, 90).data);
  // The first two end libjpeg's WASM program (its fatal-error exit), the last is cut short.
  for (const bad of [[0xff, 0xd8, 1, 2, 3, 0xff, 0xd9], [1, 2, 3], [...good.subarray(0, 100)]]) {
    await assert.rejects(decodeJpeg(new Uint8Array(bad)), SyntaxError);
    const img = await decodeJpeg(good);
    assert.equal(lastDecoder, "jsquash", `after ${bad.length} bad bytes`);
    assert.equal(img.width, 48);
  }
});

Deno.test("fitInto() keeps the aspect ratio inside the box", () => {
  assert.deepEqual(fitInto(1920, 1080, 800, 800), { width: 800, height: 450 });
  assert.deepEqual(fitInto(1920, 1080, 160, 48), { width: 85, height: 48 });
});

Deno.test("scaleNearest() picks the nearest source pixels; same size returns the input", () => {
  const src = goldenImage();
  assert.equal(scaleNearest(src, 48, 32), src);
  const half = scaleNearest(src, 24, 16);
  assert.deepEqual([...half.data.subarray(0, 4)], [5, 8, 6, 255]); // source pixel (1,1)
  const up = scaleNearest(src, 96, 64);
  assert.deepEqual([...up.data.subarray(4, 8)], [...src.data.subarray(0, 4)]);
});

Deno.test("scaleBox() averages the source box", () => {
  const data = new Uint8Array([0, 0, 0, 255, 100, 100, 100, 255, 50, 50, 50, 255, 250, 250, 250, 255]);
  const out = scaleBox({ width: 2, height: 2, data }, 1, 1);
  assert.deepEqual([...out.data], [100, 100, 100, 255]);
});

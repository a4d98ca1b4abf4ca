import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import * as jpeg from "./jpeg.ts";
import { decodeJpeg, fitInto, lastDecoder, scaleBox, scaleNearest, yuvToRgba } from "./jpeg.ts";
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

Deno.test("decodeJpeg(): libjpeg's warnings on a damaged frame are kept, never printed (a player draws over the terminal)", async () => {
  const printed: unknown[] = [];
  const error = console.error, warn = console.warn, log = console.log;
  console.error = console.warn = console.log = (...a: unknown[]) => void printed.push(a);
  try {
    await assert.rejects(decodeJpeg(new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])), SyntaxError);
  } finally {
    Object.assign(console, { error, warn, log });
  }
  assert.deepEqual(printed, []);
  assert.match(jpeg.lastJpegWarning ?? "", /JPEG/);
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

Deno.test("yuvToRgba() is JFIF's YCbCr → RGB (rounded, clamped) for every Y and a grid of Cb, Cr", () => {
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  const cs = [0, 1, 37, 64, 100, 127, 128, 129, 160, 200, 254, 255];
  const n = 256 * cs.length * cs.length;
  const yuv = new Uint8Array(3 * n);
  let i = 0;
  for (let y = 0; y < 256; y++) {
    for (const cb of cs) {
      for (const cr of cs) {
        yuv[i] = y, yuv[n + i] = cb, yuv[2 * n + i] = cr, i++;
      }
    }
  }
  const img = yuvToRgba(yuv, n, 1);
  assert.equal(img.data.length, 4 * n);
  for (let k = 0; k < n; k++) {
    const y = yuv[k]!, cb = yuv[n + k]! - 128, cr = yuv[2 * n + k]! - 128;
    const want = [
      clamp(y + 1.402 * cr),
      clamp(y - 0.344136 * cb - 0.714136 * cr),
      clamp(y + 1.772 * cb),
      255,
    ];
    const got = [...img.data.subarray(4 * k, 4 * k + 4)];
    for (let c = 0; c < 4; c++) {
      assert.ok(Math.abs(got[c]! - want[c]!) <= 1, `Y ${y} Cb ${cb + 128} Cr ${cr + 128}: ${got} vs ${want}`);
    }
  }
  assert.throws(() => yuvToRgba(new Uint8Array(10), 2, 2), RangeError);
});

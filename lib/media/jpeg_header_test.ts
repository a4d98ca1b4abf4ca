import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { jpegSize } from "./jpeg_header.ts";

const jpeg = (w: number, h: number, q = 90) =>
  new Uint8Array(jpegJs.encode({ width: w, height: h, data: new Uint8Array(w * h * 4) }, q).data);

Deno.test("jpegSize() reads the frame header; null without one", () => {
  assert.deepEqual(jpegSize(jpeg(48, 32)), { width: 48, height: 32 });
  assert.deepEqual(jpegSize(jpeg(17, 9, 50)), { width: 17, height: 9 });
  assert.equal(jpegSize(new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9])), null);
  assert.equal(jpegSize(new Uint8Array(0)), null);
  // A fill byte before the frame header is skipped; a truncated header is no size.
  const b = jpeg(20, 10), fill = new Uint8Array(b.length + 1);
  fill.set(b.subarray(0, 2));
  fill[2] = 0xff;
  fill.set(b.subarray(2), 3);
  assert.deepEqual(jpegSize(fill), { width: 20, height: 10 });
  assert.equal(jpegSize(b.subarray(0, 12)), null);
});

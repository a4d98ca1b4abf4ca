import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { checkImage, IMAGE_CAPS, imageFormat, imageHeader } from "./image_header.ts";
import { pngHead } from "./_testing.ts";

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p));
const le16 = (n: number) => [n & 255, (n >> 8) & 255];
const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];

const gifHead = (w: number, h: number) => bytes("GIF89a", le16(w), le16(h), [0, 0, 0]);
const webpLossy = (w: number, h: number) =>
  bytes("RIFF", [0, 0, 0, 0], "WEBP", "VP8 ", [0, 0, 0, 0], [0, 0, 0], [0x9d, 0x01, 0x2a], le16(w), le16(h));
const webpLossless = (w: number, h: number) => {
  const v = ((w - 1) | ((h - 1) << 14)) >>> 0;
  return bytes("RIFF", [0, 0, 0, 0], "WEBP", "VP8L", [0, 0, 0, 0], [0x2f], [
    v & 255,
    (v >> 8) & 255,
    (v >> 16) & 255,
    (v >>> 24) & 255,
  ]);
};
const webpExt = (w: number, h: number) =>
  bytes("RIFF", [0, 0, 0, 0], "WEBP", "VP8X", [10, 0, 0, 0], [0, 0, 0, 0], le24(w - 1), le24(h - 1));
const jpeg = (w: number, h: number) =>
  new Uint8Array(jpegJs.encode({ width: w, height: h, data: new Uint8Array(w * h * 4) }, 80).data);

Deno.test("imageHeader() reads format and size of JPEG, PNG, GIF and the three WebP kinds", () => {
  assert.deepEqual(imageHeader(jpeg(48, 32)), { format: "jpeg", width: 48, height: 32 });
  assert.deepEqual(imageHeader(pngHead(640, 480)), { format: "png", width: 640, height: 480 });
  assert.deepEqual(imageHeader(gifHead(320, 200)), { format: "gif", width: 320, height: 200 });
  assert.deepEqual(imageHeader(webpLossy(300, 150)), { format: "webp", width: 300, height: 150 });
  assert.deepEqual(imageHeader(webpLossless(16383, 2)), { format: "webp", width: 16383, height: 2 });
  assert.deepEqual(imageHeader(webpExt(70000, 3)), { format: "webp", width: 70000, height: 3 });
});

Deno.test("imageHeader() refuses wrong magic, cut headers and zero sizes", () => {
  assert.equal(imageFormat(bytes("hello world, not a picture")), null);
  assert.equal(imageHeader(bytes("hello world, not a picture")), null);
  assert.equal(imageHeader(new Uint8Array(0)), null);
  const png = pngHead(10, 10);
  for (let n = 0; n < 24; n++) assert.equal(imageHeader(png.subarray(0, n)), null, `cut at ${n}`);
  assert.equal(imageHeader(pngHead(0, 10)), null);
  // The first chunk must be a 13-byte IHDR.
  const bad = png.slice();
  bad[12] = "X".charCodeAt(0);
  assert.equal(imageHeader(bad), null);
  assert.equal(imageHeader(gifHead(5, 5).subarray(0, 9)), null);
  assert.equal(imageHeader(gifHead(0, 5)), null);
  assert.equal(imageHeader(webpLossy(5, 5).subarray(0, 29)), null);
  const wrongStart = webpLossy(5, 5);
  wrongStart[23] = 0;
  assert.equal(imageHeader(wrongStart), null);
  assert.equal(imageHeader(jpeg(8, 8).subarray(0, 20)), null);
  assert.equal(
    imageHeader(bytes("RIFF", [0, 0, 0, 0], "WEBP", "VP9 ", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    null,
  );
});

Deno.test("checkImage() refuses files and dimensions over the caps, with a reason", () => {
  assert.deepEqual(checkImage(pngHead(640, 480), 1000), {
    ok: true,
    header: { format: "png", width: 640, height: 480 },
  });
  const side = checkImage(pngHead(IMAGE_CAPS.maxSide + 1, 10), 1000);
  assert.equal(side.ok, false);
  assert.match(!side.ok ? side.reason : "", /16385×10 pixels, over the cap/);
  assert.equal(checkImage(pngHead(IMAGE_CAPS.maxSide, IMAGE_CAPS.maxSide), 1000).ok, false); // pixels
  assert.equal(checkImage(pngHead(IMAGE_CAPS.maxSide, 10), 1000).ok, true);
  const big = checkImage(pngHead(10, 10), IMAGE_CAPS.maxBytes + 1);
  assert.match(!big.ok ? big.reason : "", /over the 50 MiB cap/);
  assert.match((checkImage(bytes("plain text file"), 15) as { reason: string }).reason, /not a JPEG/);
  assert.match((checkImage(pngHead(10, 10).subarray(0, 20), 20) as { reason: string }).reason, /damaged/);
  // Caps are a parameter.
  assert.equal(checkImage(pngHead(100, 100), 10, { maxBytes: 100, maxSide: 99, maxPixels: 1e6 }).ok, false);
});

Deno.test("a 60000×60000 PNG header (a decompression bomb) is refused in well under a millisecond each", () => {
  const head = pngHead(60000, 60000);
  // This isolate's heap and buffers, not the process's RSS: under `deno test --parallel` other test files
  // run in the same process.
  const used = () => (({ heapUsed, external }) => heapUsed + external)(Deno.memoryUsage());
  const before = used();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) assert.equal(checkImage(head, 5000).ok, false);
  const ms = (performance.now() - t0) / 1000;
  const grew = used() - before;
  assert.ok(ms < 1, `${ms} ms per refusal`);
  // A decode would need 60000² × 3 bytes ≈ 10 GB; the refusal allocates nothing of the kind.
  assert.ok(grew < 64 * 1024 * 1024, `heap and buffers grew by ${grew} bytes`);
});

import assert from "node:assert/strict";
import { decode } from "sixel";
import { renderSixel, SixelEncoder } from "./render_sixel.ts";
import { goldenImage, matchesGolden } from "./_testing.ts";

const td = new TextDecoder();

Deno.test("renderSixel() matches the golden file byte for byte (48×32, 64 colours, dithered)", () => {
  const out = renderSixel(goldenImage());
  assert.ok(matchesGolden("sixel_48x32_l4.six", out), "differs from lib/media/testdata/sixel_48x32_l4.six");
});

Deno.test("renderSixel() wraps the image in DCS … ST with raster attributes and palette", () => {
  const s = td.decode(renderSixel(goldenImage(), { levels: 2 }));
  assert.ok(s.startsWith('\x1bP0;1;0q"1;1;48;32#0;2;0;0;0#1;2;0;0;100'));
  assert.ok(s.endsWith("\x1b\\"));
  assert.equal(s.split("-").length, Math.ceil(32 / 6)); // bands separated by "-"
});

Deno.test("renderSixel() output decodes back to the quantized image (sixel decoder)", () => {
  const img = goldenImage();
  const out = renderSixel(img, { dither: false, levels: 4 });
  const body = out.subarray(out.indexOf(0x71) + 1, out.length - 2); // after "q", before ST
  const res = decode(body);
  assert.equal(res.width, 48);
  assert.equal(res.height, 32);
  for (let p = 0; p < 48 * 32; p++) {
    for (let k = 0; k < 3; k++) {
      const level = Math.round(img.data[p * 4 + k]! / 85);
      assert.ok(Math.abs(res.data8[p * 4 + k]! - level * 85) <= 3, `pixel ${p} channel ${k}`);
    }
  }
});

Deno.test("renderSixel() handles heights that are not a multiple of six and 1×1 images", () => {
  const one = renderSixel({ width: 1, height: 1, data: new Uint8Array([255, 0, 0, 255]) }, { dither: false });
  assert.ok(td.decode(one).endsWith("#48@\x1b\\")); // red = level 3 → index 48, bit 0 → "@"
  const out = renderSixel({ width: 5, height: 7, data: new Uint8Array(140).fill(255) });
  assert.ok(td.decode(out).includes('"1;1;5;7'));
  const res = decode(out.subarray(out.indexOf(0x71) + 1, out.length - 2));
  assert.equal(res.width, 5);
  assert.ok(res.data8[6 * 5 * 4]! > 250); // the seventh row (second band) is white
});

Deno.test("SixelEncoder reuses its palette and scratch across frames: each frame equals a one-off encoding", () => {
  const a = goldenImage();
  const b = { ...a, data: a.data.map((v, i) => (i % 4 === 3 ? v : 255 - v)) }; // the negative
  const c = { width: 30, height: 13, data: new Uint8Array(30 * 13 * 4).map((_, i) => (i * 37) & 255) };
  const builds = SixelEncoder.paletteBuilds;
  const enc = new SixelEncoder();
  const palette = enc.palette;
  for (const img of [a, b, a, c, b]) {
    assert.deepEqual(enc.encode(img, { row: 2, col: 3 }), renderSixel(img, { at: { row: 2, col: 3 } }));
  }
  assert.equal(enc.palette, palette);
  // The encoder built one palette; the five one-off encodings one each.
  assert.equal(SixelEncoder.paletteBuilds - builds, 1 + 5);
});

Deno.test("SixelEncoder reads RGB (channels 3) in place: the same bytes as the RGBA picture", () => {
  const rgba = goldenImage();
  const n = rgba.width * rgba.height, rgb = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) rgb.set(rgba.data.subarray(p * 4, p * 4 + 3), p * 3);
  const enc = new SixelEncoder();
  const asRgb = enc.encode({ width: rgba.width, height: rgba.height, data: rgb, channels: 3 }, {
    row: 1,
    col: 1,
  });
  assert.deepEqual(asRgb, enc.encode(rgba, { row: 1, col: 1 }));
  assert.ok(matchesGolden("sixel_48x32_l4.six", renderSixel({ ...rgba, data: rgb, channels: 3 })));
});

/** The ordered-dither rule, written out here as the oracle: the level of `v` at threshold cell `k`. */
function ditheredLevel(v: number, k: number, levels: number): number {
  const bayer = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];
  const step = 255 / (levels - 1), bias = ((bayer[k]! + 0.5) / 16 - 0.5) * step;
  return Math.max(0, Math.min(levels - 1, Math.round((v + bias) / step)));
}

Deno.test("SixelEncoder quantizes every channel value at every dither cell to the palette colour of the dither rule (decoded)", () => {
  // x = 4v + (x & 3), and rows 0…23: each value of each channel meets all 16 threshold cells.
  const w = 1024, h = 24, data = new Uint8Array(w * h * 3);
  const rgb = (x: number) => [x >> 2, 255 - (x >> 2), ((x >> 2) * 37) & 255];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(rgb(x), (y * w + x) * 3);
  for (const levels of [4, 6]) {
    const out = new SixelEncoder({ levels }).encode({ width: w, height: h, data, channels: 3 });
    const res = decode(out.subarray(out.indexOf(0x71) + 1, out.length - 2));
    assert.equal(res.width, w);
    const step = 255 / (levels - 1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = (y & 3) * 4 + (x & 3), want = rgb(x).map((v) => ditheredLevel(v, k, levels) * step);
        for (let ch = 0; ch < 3; ch++) {
          const got = res.data8[(y * w + x) * 4 + ch]!;
          if (Math.abs(got - want[ch]!) > 3) {
            assert.fail(`levels ${levels} (${x},${y}) channel ${ch}: ${got}`);
          }
        }
      }
    }
  }
});

Deno.test("A warmed-up SixelEncoder (warm) writes the same bytes as a cold one, for any size after its warm-up picture", () => {
  const a = goldenImage();
  const wide = {
    width: 700,
    height: 50,
    data: new Uint8Array(700 * 50 * 3).map((_, i) => (i * 31) >> 4),
    channels: 3,
  };
  const narrow = { width: 320, height: 7, data: new Uint8Array(320 * 7 * 4).map((_, i) => (i * 7) & 255) };
  const warmUps = SixelEncoder.warmUps;
  const warmed = new SixelEncoder({ warm: true });
  assert.equal(SixelEncoder.warmUps - warmUps, 1);
  for (const img of [narrow, a, wide, narrow]) {
    assert.deepEqual(warmed.encode(img, { row: 1, col: 1 }), renderSixel(img, { at: { row: 1, col: 1 } }));
  }
  assert.equal(SixelEncoder.warmUps - warmUps, 1, "one-off encoders do not warm up");
});

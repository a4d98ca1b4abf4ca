import assert from "node:assert/strict";
import fc from "fast-check";
import { inflateSync } from "node:zlib";
import { fromBase64 } from "../common/bytes.ts";
import {
  KITTY_CHUNK,
  kittyDelete,
  kittyFileCommand,
  kittyFileQuery,
  kittyPixels,
  packRgb,
  renderKitty,
} from "./render_kitty.ts";
import { goldenImage, matchesGolden } from "./_testing.ts";

const td = new TextDecoder();

/** Splits kitty output into APC commands: [keys, payload]. */
function commands(bytes: Uint8Array): [string, string][] {
  const s = td.decode(bytes);
  // deno-lint-ignore no-control-regex
  return [...s.matchAll(/\x1b_G([^;\x1b]*);([^\x1b]*)\x1b\\/g)].map((m) => [m[1]!, m[2]!]);
}

Deno.test("renderKitty() matches the golden file byte for byte (48×32, f=24)", () => {
  const out = renderKitty(goldenImage(), { id: 7 });
  assert.ok(
    matchesGolden("kitty_48x32_f24.bin", out),
    "differs from lib/media/testdata/kitty_48x32_f24.bin",
  );
});

Deno.test("renderKitty() chunks base64 ≤4096 per APC with m=1 … m=0 and the keys first", () => {
  const img = goldenImage();
  const cmds = commands(renderKitty(img, { id: 7, cols: 10, rows: 4 }));
  assert.equal(cmds.length, 2); // 1536 px × 4 chars = 6144 chars
  assert.equal(cmds[0]![0], "a=T,f=24,s=48,v=32,i=7,q=2,C=1,c=10,r=4,m=1");
  assert.equal(cmds[1]![0], "m=0");
  assert.equal(cmds[0]![1].length, KITTY_CHUNK);
  const raw = fromBase64(cmds.map((c) => c[1]).join(""));
  assert.equal(raw.length, 48 * 32 * 3);
  for (let p = 0; p < 48 * 32; p++) {
    for (let k = 0; k < 3; k++) assert.equal(raw[p * 3 + k], img.data[p * 4 + k]);
  }
});

Deno.test("renderKitty() round-trips RGB and RGBA of any size (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(24 as const, 32 as const),
      fc.integer({ min: 0, max: 1000 }),
      (w, h, format, seed) => {
        const data = new Uint8Array(w * h * 4).map((_, i) => (i * 7 + seed) & 255);
        const cmds = commands(renderKitty({ width: w, height: h, data }, { id: 1, format }));
        cmds.forEach(([keys, payload], i) => {
          assert.ok(payload.length <= KITTY_CHUNK && payload.length % 4 === 0);
          assert.ok(keys.endsWith(i === cmds.length - 1 ? "m=0" : "m=1"));
          if (i > 0) assert.ok(keys.startsWith("m="));
        });
        const raw = fromBase64(cmds.map((c) => c[1]).join(""));
        const want = format === 32 ? data : data.filter((_, i) => i % 4 !== 3);
        assert.deepEqual(raw, want);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("renderKitty() moves the cursor first when a position is given; kittyDelete() deletes by id", () => {
  const out = td.decode(
    renderKitty({ width: 1, height: 1, data: new Uint8Array(4) }, { id: 3, at: { row: 2, col: 5 } }),
  );
  assert.ok(out.startsWith("\x1b[2;5H\x1b_Ga=T,f=24,s=1,v=1,i=3,q=2,C=1,m=0;AAAA\x1b\\"));
  assert.equal(td.decode(kittyDelete(3)), "\x1b_Ga=d,d=I,i=3,q=2\x1b\\");
});

Deno.test("renderKitty({ compress }) sends o=z RGB whose chunks decompress to the pixels", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 90 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 1000 }),
      (w, h, seed) => {
        // Noise (incompressible) in part of the picture, so payloads of many chunks are tried too.
        const data = new Uint8Array(w * h * 4).map((_, i) =>
          i % 3 === 0 ? (Math.imul(i + seed, 2654435761) >>> 13) & 255 : (i * 7 + seed) & 255
        );
        const cmds = commands(
          renderKitty({ width: w, height: h, data }, { id: 9, compress: true, cols: 5, rows: 2 }),
        );
        assert.equal(
          cmds[0]![0],
          `a=T,f=24,s=${w},v=${h},i=9,q=2,C=1,o=z,c=5,r=2,${cmds.length > 1 ? "m=1" : "m=0"}`,
        );
        cmds.forEach(([keys, payload], i) => {
          assert.ok(payload.length <= KITTY_CHUNK && payload.length % 4 === 0);
          if (i < cmds.length - 1) assert.equal(payload.length, KITTY_CHUNK);
          assert.ok(keys.endsWith(i === cmds.length - 1 ? "m=0" : "m=1"));
          if (i > 0) assert.equal(keys, i === cmds.length - 1 ? "m=0" : "m=1");
        });
        const raw = inflateSync(fromBase64(cmds.map((c) => c[1]).join("")));
        assert.deepEqual(new Uint8Array(raw), data.filter((_, i) => i % 4 !== 3), "RGB: alpha dropped");
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("packRgb() drops alpha the same way for aligned and unaligned pixels", () => {
  const bytes = new Uint8Array(1 + 7 * 4).map((_, i) => (i * 37) & 255);
  const want = (d: Uint8Array) => d.filter((_, i) => i % 4 !== 3);
  const unaligned = bytes.subarray(1);
  assert.deepEqual(packRgb({ width: 7, height: 1, data: unaligned }).slice(), want(unaligned));
  const aligned = bytes.slice(1);
  assert.deepEqual(packRgb({ width: 7, height: 1, data: aligned }).slice(), want(aligned));
});

Deno.test("renderKitty() of an RGB image (channels 3) writes the same bytes as of its RGBA twin", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 1000 }),
      (w, h, compress, seed) => {
        const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 7 + seed) & 255);
        const rgb = rgba.filter((_, i) => i % 4 !== 3);
        const o = { id: 3, compress, cols: 9, rows: 4, at: { row: 2, col: 5 } };
        assert.deepEqual(
          renderKitty({ width: w, height: h, data: rgb, channels: 3 }, o),
          renderKitty({ width: w, height: h, data: rgba }, o),
        );
      },
    ),
    { numRuns: 60 },
  );
  assert.throws(() =>
    renderKitty({ width: 1, height: 1, data: new Uint8Array(3), channels: 3 }, { id: 1, format: 32 })
  );
});

Deno.test("kittyFileCommand() names the temporary file in one APC: t=t, f=24, S, the path in base64", () => {
  const name = "/tmp/tty-graphics-protocol-parley-7-ab-3";
  const cmd = new TextDecoder().decode(
    kittyFileCommand(
      { width: 640, height: 360 },
      { id: 4242, cols: 64, rows: 18, at: { row: 4, col: 9 } },
      name,
      691200,
    ),
  );
  assert.equal(
    cmd,
    "\x1b[4;9H\x1b_Ga=T,f=24,s=640,v=360,i=4242,q=2,C=1,t=t,S=691200,c=64,r=18;" +
      "L3RtcC90dHktZ3JhcGhpY3MtcHJvdG9jb2wtcGFybGV5LTctYWItMw==\x1b\\",
  );
  assert.equal(atob(cmd.slice(cmd.lastIndexOf(";") + 1, -2)), name);
  assert.equal(
    kittyFileQuery("q1"),
    "\x1b_Gi=32,s=1,v=1,a=q,t=t,f=24;cTE=\x1b\\",
    "a 1×1 RGB query (id 32) of the file q1",
  );
});

Deno.test("kittyPixels() is an RGB image's own bytes (no copy) and an RGBA image packed", () => {
  const rgb = new Uint8Array(2 * 2 * 3 + 5).map((_, i) => i);
  const px = kittyPixels({ width: 2, height: 2, data: rgb, channels: 3 });
  assert.equal(px.buffer, rgb.buffer, "a view");
  assert.deepEqual([...px], [...rgb.subarray(0, 12)]);
  const rgba = new Uint8Array(16).map((_, i) => i);
  assert.deepEqual([...kittyPixels({ width: 2, height: 2, data: rgba })], [
    0,
    1,
    2,
    4,
    5,
    6,
    8,
    9,
    10,
    12,
    13,
    14,
  ]);
});

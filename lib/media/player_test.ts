import assert from "node:assert/strict";
import jpegJs from "jpeg-js";
import { FramePainter, panePixels } from "./player.ts";
import { goldenImage } from "./_testing.ts";

const td = new TextDecoder();
const wide = { width: 160, height: 90, data: new Uint8Array(160 * 90 * 4).fill(128) };

Deno.test("panePixels() gives cols×2rows for half-blocks and the cell pixels otherwise", () => {
  const pane = { row: 1, col: 1, cols: 80, rows: 24, cellWidth: 9, cellHeight: 18 };
  assert.deepEqual(panePixels("halfblock", pane), { width: 80, height: 48 });
  assert.deepEqual(panePixels("kitty", pane), { width: 720, height: 432 });
});

Deno.test("FramePainter.paintImage() centres a 16:9 frame in the pane for each renderer", () => {
  const pane = { row: 3, col: 5, cols: 40, rows: 20 };
  const hb = td.decode(new FramePainter("halfblock").paintImage(wide, pane) as Uint8Array);
  // 40 cols of 10×10-pixel half-cells: 16:9 → 40×22.5 half-rows → 11 rows, centred at row 3+4.
  assert.ok(hb.startsWith("\x1b[7;5H"), JSON.stringify(hb.slice(0, 12)));
  const k = td.decode(new FramePainter("kitty", { imageId: 9 }).paintImage(wide, pane) as Uint8Array);
  assert.ok(
    k.startsWith("\x1b[7;5H\x1b_Ga=T,f=24,s=160,v=90,i=9,q=2,C=1,o=z,c=40,r=11,"),
    JSON.stringify(k.slice(0, 60)),
  );
  const raw = td.decode(
    new FramePainter("kitty", { imageId: 9, kittyCompress: false }).paintImage(wide, pane) as Uint8Array,
  );
  assert.ok(raw.startsWith("\x1b[7;5H\x1b_Ga=T,f=24,s=160,v=90,i=9,q=2,C=1,c=40,r=11,"));
  const s = td.decode(new FramePainter("sixel").paintImage(wide, pane) as Uint8Array);
  assert.ok(s.startsWith('\x1b[7;5H\x1bP0;1;0q"1;1;160;90'));
});

Deno.test("FramePainter.paintImage(): an RGB image (kitty decoder, raw frame) paints as its RGBA twin", () => {
  const pane = { row: 1, col: 1, cols: 40, rows: 20 };
  const w = 160, h = 90;
  const rgb = { width: w, height: h, data: new Uint8Array(w * h * 3), channels: 3 as const };
  const rgba = { width: w, height: h, data: new Uint8Array(w * h * 4) };
  for (let i = 0; i < w * h; i++) { // a picture whose every pixel differs from its neighbours
    const px = [(i * 7) & 0xff, (i >> 3) & 0xff, (i * 13 + 5) & 0xff];
    rgb.data.set(px, i * 3);
    rgba.data.set([...px, 255], i * 4);
  }
  for (const kind of ["kitty", "halfblock", "sixel"] as const) {
    assert.deepEqual(
      new FramePainter(kind, { imageId: 2 }).paintImage(rgb, pane),
      new FramePainter(kind, { imageId: 2 }).paintImage(rgba, pane),
      kind,
    );
  }
});

Deno.test("FramePainter.paint() decodes the JPEG first", async () => {
  const src = goldenImage();
  const jpeg = new Uint8Array(jpegJs.encode(src, 90).data);
  const out = await new FramePainter("kitty").paint(jpeg, { row: 1, col: 1, cols: 10, rows: 5 });
  assert.ok(td.decode(out as Uint8Array).includes("s=48,v=32"));
});

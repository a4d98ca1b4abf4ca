import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { renderHalfblock } from "./render_halfblock.ts";
import { HalfblockCanvas } from "./render_halfblock_diff.ts";
import type { RgbaImage } from "./jpeg.ts";

const { Terminal } = xt;
type Term = InstanceType<typeof Terminal>;

function write(term: Term, s: string): Promise<void> {
  return new Promise((r) => term.write(s, r));
}

/** A w×h image filled with one colour. */
function flat(w: number, h: number, c: [number, number, number]): RgbaImage {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...c, 255], i * 4);
  return { width: w, height: h, data };
}

function setPx(img: RgbaImage, x: number, y: number, c: [number, number, number]): void {
  img.data.set([...c, 255], (y * img.width + x) * 4);
}

/** Deterministic pseudo-random frames: a moving gradient with noise in a few blocks. */
function frame(k: number, w: number, h: number): RgbaImage {
  const data = new Uint8Array(w * h * 4);
  let s = (k * 2654435761) >>> 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const moving = ((x + k) >> 3) % 2 === 0;
      s = (s * 1103515245 + 12345) >>> 0;
      const noisy = x > w / 2 && y < h / 3;
      data[i] = moving ? 200 : 20;
      data[i + 1] = noisy ? s >>> 24 : (y * 4) & 255;
      data[i + 2] = 30;
      data[i + 3] = 255;
    }
  }
  return { width: w, height: h, data };
}

/** Every cell's character and colours, for comparing two terminals. */
function snapshot(term: Term): string[] {
  const buf = term.buffer.active, out: string[] = [];
  for (let r = 0; r < term.rows; r++) {
    const line = buf.getLine(r)!;
    for (let c = 0; c < term.cols; c++) {
      const cell = line.getCell(c)!;
      out.push(`${cell.getChars() || " "}/${cell.getFgColor()}/${cell.getBgColor()}`);
    }
  }
  return out;
}

const AT = { row: 2, col: 3 };

Deno.test("HalfblockCanvas: the first frame draws every cell, an identical frame writes nothing", () => {
  const c = new HalfblockCanvas();
  const img = frame(1, 40, 20);
  const first = c.render(img, 20, 5, AT);
  assert.ok(first.length > 0 && first.endsWith("\x1b[0m"));
  assert.equal((first.match(/[▀ ]/g) ?? []).length, 20 * 5);
  assert.equal(c.render(img, 20, 5, AT), "");
  assert.equal(c.render(frame(1, 40, 20), 20, 5, AT), ""); // same pixels, new buffer
});

Deno.test("HalfblockCanvas: one changed cell writes one cursor move, its colours and one cell", () => {
  const c = new HalfblockCanvas();
  const img = flat(10, 10, [10, 20, 30]);
  c.render(img, 10, 5, AT);
  setPx(img, 4, 6, [255, 0, 0]); // cell (row 3, col 4), its upper half
  assert.equal(c.render(img, 10, 5, AT), "\x1b[5;7H\x1b[38;2;255;0;0;48;2;10;20;30m▀\x1b[0m");
  setPx(img, 4, 6, [10, 20, 30]); // back as it was: a space on the background colour
  assert.equal(c.render(img, 10, 5, AT), "\x1b[5;7H\x1b[48;2;10;20;30m \x1b[0m");
  setPx(img, 4, 7, [0, 255, 0]); // the same cell's lower half only
  assert.equal(c.render(img, 10, 5, AT), "\x1b[5;7H\x1b[38;2;10;20;30;48;2;0;255;0m▀\x1b[0m");
});

Deno.test("HalfblockCanvas: changed cells on one row are reached by cursor-forward, rows by CUP", () => {
  const c = new HalfblockCanvas();
  const img = flat(10, 4, [0, 0, 0]);
  c.render(img, 10, 2, { row: 1, col: 1 });
  for (const x of [1, 2, 6]) {
    setPx(img, x, 0, [9, 9, 9]);
    setPx(img, x, 1, [9, 9, 9]);
  }
  setPx(img, 0, 2, [9, 9, 9]);
  setPx(img, 0, 3, [9, 9, 9]);
  assert.equal(
    c.render(img, 10, 2, { row: 1, col: 1 }),
    "\x1b[1;2H\x1b[48;2;9;9;9m  \x1b[3C \x1b[2;1H \x1b[0m",
  );
});

Deno.test("HalfblockCanvas: another position or size, or reset(), draws the whole frame again", () => {
  const c = new HalfblockCanvas();
  const img = frame(3, 30, 12);
  const full = c.render(img, 15, 6, AT);
  assert.equal(c.render(img, 15, 6, AT), "");
  assert.equal(c.render(img, 15, 6, { row: 1, col: 1 }).length > 0, true);
  assert.equal(c.render(img, 15, 6, AT), full);
  c.reset();
  assert.equal(c.render(img, 15, 6, AT), full);
  assert.equal((c.render(img, 14, 6, AT).match(/[▀ ]/g) ?? []).length, 14 * 6);
});

Deno.test("HalfblockCanvas: after 100 diffed frames the screen equals a full redraw of the last", async () => {
  const cols = 60, rows = 20;
  const diffed = new Terminal({ cols: 80, rows: 24, allowProposedApi: true });
  const whole = new Terminal({ cols: 80, rows: 24, allowProposedApi: true });
  const c = new HalfblockCanvas();
  let diffBytes = 0, fullBytes = 0;
  for (let k = 0; k < 100; k++) {
    const img = frame(k, 120, 40);
    const d = c.render(img, cols, rows, AT);
    diffBytes += d.length;
    fullBytes += renderHalfblock(img, cols, rows, { at: AT }).length;
    await write(diffed, d);
  }
  await write(whole, renderHalfblock(frame(99, 120, 40), cols, rows, { at: AT }));
  assert.deepEqual(snapshot(diffed), snapshot(whole));
  assert.ok(diffBytes < fullBytes, `diffed ${diffBytes} bytes, full ${fullBytes}`);
  diffed.dispose();
  whole.dispose();
});

Deno.test("HalfblockCanvas(tolerance): small changes wait until they add up past it; the screen stays the reference", () => {
  const c = new HalfblockCanvas(8);
  const shade = (v: number) => flat(4, 2, [v, v, v]);
  assert.ok(c.render(shade(100), 4, 1, AT).length > 0);
  assert.equal(c.render(shade(103), 4, 1, AT), "", "3/255: within the tolerance, nothing written");
  assert.equal(c.render(shade(106), 4, 1, AT), "", "6/255 from what is shown: still nothing");
  // 9/255 from what the screen shows (100), though only 3 from the last frame: drawn now.
  assert.equal(c.render(shade(109), 4, 1, AT), `\x1b[2;3H\x1b[48;2;109;109;109m    \x1b[0m`);
  assert.equal(c.render(shade(104), 4, 1, AT), "", "5/255 back from the new reference");
  assert.equal(new HalfblockCanvas(0).render(shade(1), 4, 1, AT).length > 0, true);
  const exact = new HalfblockCanvas(0);
  exact.render(shade(100), 4, 1, AT);
  assert.ok(exact.render(shade(101), 4, 1, AT).length > 0, "tolerance 0 draws every change");
});

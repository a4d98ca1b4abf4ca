import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { renderHalfblock } from "./render_halfblock.ts";
import { goldenImage } from "./_testing.ts";

const { Terminal } = xt;

function write(term: InstanceType<typeof Terminal>, s: string): Promise<void> {
  return new Promise((r) => term.write(s, r));
}

/** A 2×2 image: top row red|green, bottom row blue|blue. */
function tiny() {
  const px = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 255]];
  const data = new Uint8Array(2 * 2 * 4);
  px.forEach((c, i) => data.set([...c, 255], i * 4));
  return { width: 2, height: 2, data };
}

Deno.test("renderHalfblock() draws ▀ with 24-bit foreground (top) and background (bottom) on xterm", async () => {
  const term = new Terminal({ cols: 20, rows: 5, allowProposedApi: true });
  const s = renderHalfblock(tiny(), 2, 1, { at: { row: 2, col: 3 } });
  assert.equal(s, "\x1b[2;3H\x1b[38;2;255;0;0;48;2;0;0;255m▀\x1b[38;2;0;255;0m▀\x1b[0m");
  await write(term, s);
  const buf = term.buffer.active;
  assert.equal(buf.getLine(1)!.translateToString(true), "  ▀▀");
  const cell = buf.getLine(1)!.getCell(2)!;
  assert.ok(cell.isFgRGB() && cell.isBgRGB());
  assert.equal(cell.getFgColor(), 0xff0000);
  assert.equal(cell.getBgColor(), 0x0000ff);
  assert.equal(buf.getLine(1)!.getCell(3)!.getFgColor(), 0x00ff00);
  assert.equal(buf.getLine(1)!.getCell(3)!.getBgColor(), 0x0000ff);
  term.dispose();
});

Deno.test("renderHalfblock() fills exactly cols×rows and resets at the end", async () => {
  const term = new Terminal({ cols: 80, rows: 24, allowProposedApi: true });
  const s = renderHalfblock(goldenImage(), 30, 10);
  assert.ok(s.endsWith("\x1b[0m"));
  await write(term, s);
  const buf = term.buffer.active;
  for (let r = 0; r < 10; r++) assert.equal(buf.getLine(r)!.translateToString(true).length, 30, `row ${r}`);
  assert.equal(buf.getLine(10)!.translateToString(true), "");
  term.dispose();
});

Deno.test("renderHalfblock() does not repeat SGR when colours are unchanged", () => {
  const flat = { width: 4, height: 4, data: new Uint8Array(64).fill(200) };
  const s = renderHalfblock(flat, 40, 3, { at: { row: 1, col: 1 } });
  // deno-lint-ignore no-control-regex
  assert.equal(s.match(/\x1b\[[\d;]*m/g)!.length, 2); // one colour set, one final reset
  assert.ok(s.includes(" ".repeat(40))); // equal halves: spaces on the background colour
});

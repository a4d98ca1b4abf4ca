import assert from "node:assert/strict";
import {
  CELL_QUERY,
  cellPixels,
  chooseGraphics,
  DETECT_QUERY,
  kittyTransfer,
  parseDetectReplies,
} from "./term_detect.ts";

Deno.test("DETECT_QUERY sends the kitty query (inside a title push and pop), the cell-size and window-size queries and DA1, in that order", () => {
  assert.equal(
    DETECT_QUERY,
    "\x1b[22;0t\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[23;0t\x1b[16t\x1b[14t\x1b[c",
  );
  assert.equal(CELL_QUERY, "\x1b[16t\x1b[14t\x1b[c");
});

Deno.test("cellPixels(): CSI 16 t first, else CSI 14 t's window ÷ cells, else 10×20", () => {
  const both = parseDetectReplies("\x1b[6;18;9t\x1b[4;1080;1800t\x1b[?62c");
  assert.deepEqual(both.window, { width: 1800, height: 1080 });
  assert.deepEqual(cellPixels(both, 200, 60), { width: 9, height: 18, from: "cell" });
  const win = parseDetectReplies("x\x1b[4;1200;1600t\x1b[?1;2c");
  assert.equal(win.rest, "x");
  assert.equal(win.cell, undefined);
  assert.deepEqual(cellPixels(win, 200, 60), { width: 8, height: 20, from: "window" });
  assert.deepEqual(cellPixels(parseDetectReplies("\x1b[?1;2c"), 80, 24), {
    width: 10,
    height: 20,
    from: "default",
  });
  // Zero sizes (a terminal that does not know its pixels) count as no answer.
  const zero = parseDetectReplies("\x1b[6;0;0t\x1b[4;0;0t\x1b[?62c");
  assert.deepEqual(cellPixels(zero, 80, 24).from, "default");
  assert.deepEqual(cellPixels({ window: { width: 50, height: 50 } }, 80, 24).from, "default"); // < 1 px a cell
});

Deno.test("parseDetectReplies() recognises kitty, cell size and completes on DA1", () => {
  const r = parseDetectReplies("\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;22c");
  assert.deepEqual(r, {
    kitty: true,
    sixel: false,
    complete: true,
    cell: { width: 10, height: 20 },
    rest: "",
  });
  assert.equal(chooseGraphics(r), "kitty");
});

Deno.test("parseDetectReplies() finds sixel in DA1 and keeps typed input", () => {
  const r = parseDetectReplies("ab\x1b[?63;1;2;4;6;9;15;22c");
  assert.equal(r.sixel, true);
  assert.equal(r.rest, "ab");
  assert.equal(chooseGraphics(r), "sixel");
});

Deno.test("parseDetectReplies() falls back to half-blocks (tmux answers only DA1) and waits without DA1", () => {
  const r = parseDetectReplies("\x1b[?1;2c");
  assert.equal(chooseGraphics(r), "halfblock");
  assert.equal(r.complete, true);
  assert.equal(parseDetectReplies("\x1b_Gi=31;OK\x1b\\").complete, false);
  assert.equal(parseDetectReplies("\x1b_Gi=31;ENOTSUPPORTED\x1b\\\x1b[?62c").kitty, false);
  assert.equal(parseDetectReplies("\x1b[?14c").sixel, false); // 14 is not 4
});

Deno.test("parseDetectReplies() reads the temporary file query's answer (id 32): OK, an error, or none", () => {
  const da1 = "\x1b[?62;22c";
  assert.equal(parseDetectReplies("\x1b_Gi=32;OK\x1b\\" + da1).kittyFile, true);
  assert.equal(
    parseDetectReplies("\x1b_Gi=32;ENOENT:Failed to open file\x1b\\\x1b_Gi=31;OK\x1b\\" + da1)
      .kittyFile,
    false,
  );
  const none = parseDetectReplies("\x1b_Gi=31;OK\x1b\\" + da1);
  assert.equal(none.kittyFile, undefined);
  assert.equal(none.kitty, true);
  assert.equal(parseDetectReplies("\x1b_Gi=31;OK\x1b\\").kittyFile, undefined, "id 31's OK is not id 32's");
  assert.equal(parseDetectReplies("\x1b_Gi=320;OK\x1b\\").kittyFile, undefined);
});

Deno.test("kittyTransfer(): temporary files on an OK only when asking; a setting is obeyed as it is", () => {
  assert.equal(kittyTransfer("auto", { kittyFile: true }), "file");
  assert.equal(kittyTransfer("auto", { kittyFile: false }), "direct", "an error");
  assert.equal(kittyTransfer("auto", {}), "direct", "silence");
  assert.equal(kittyTransfer("direct", { kittyFile: true }), "direct");
  assert.equal(kittyTransfer("file", {}), "file");
});

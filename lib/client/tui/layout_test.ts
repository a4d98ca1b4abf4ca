import assert from "node:assert/strict";
import { layout } from "./layout.ts";

Deno.test("layout() places bars, side lists and the message pane at 80x24", () => {
  const l = layout(80, 24, true, true);
  assert.deepEqual([l.title.row, l.status.row, l.input.row], [0, 22, 23]);
  assert.deepEqual(l.buffers, { row: 1, col: 0, width: 12, height: 21 });
  assert.deepEqual(l.members, { row: 1, col: 68, width: 12, height: 21 });
  assert.deepEqual(l.messages, { row: 1, col: 13, width: 54, height: 21 });
  assert.equal(l.textWidth, 54 - (5 + 1 + 9 + 3));
});

Deno.test("layout() widens side lists at 200x60 and drops them when narrow or toggled", () => {
  const wide = layout(200, 60, true, true);
  assert.equal(wide.buffers!.width, 24);
  assert.equal(wide.nickWidth, 12);
  assert.equal(layout(50, 20, true, true).buffers, null);
  const off = layout(80, 24, false, false);
  assert.deepEqual(off.messages, { row: 1, col: 0, width: 80, height: 21 });
  assert.equal(layout(10, 3, true, true).tooSmall, true);
});

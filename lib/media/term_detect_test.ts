import assert from "node:assert/strict";
import { chooseGraphics, DETECT_QUERY, parseDetectReplies } from "./term_detect.ts";

Deno.test("DETECT_QUERY sends the kitty query, the cell-size query and DA1, in that order", () => {
  assert.equal(DETECT_QUERY, "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[16t\x1b[c");
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

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AGREED_EMOJI,
  clusters,
  fit,
  graphemes,
  graphemeWidth,
  textWidth,
  truncate,
  useEmojiCells,
  wrap,
} from "./width.ts";

Deno.test("textWidth() counts CJK and emoji as two cells and combining marks as none", () => {
  assert.equal(textWidth("abc"), 3);
  assert.equal(textWidth("你好"), 4);
  assert.equal(textWidth("😀"), 2);
  assert.equal(textWidth("e\u0301"), 1);
  assert.equal(graphemeWidth("👨‍👩‍👧"), 2);
});

Deno.test("graphemes() keeps U+FE0F, and draws joined emoji as their parts where the terminal did not say it joins them", () => {
  assert.deepEqual(graphemes("a👨‍👩‍👧b"), ["a", "👨", "👩", "👧", "b"]);
  assert.deepEqual(clusters("a👨‍👩‍👧b"), ["a", "👨‍👩‍👧", "b"]); // the editor keeps the sequence whole
  assert.equal(textWidth("👨‍👩‍👧‍👦"), 8);
  assert.equal(textWidth("👍🏽"), 4);
  assert.deepEqual(graphemes("🏳️‍🌈"), ["🏳️", "🌈"]); // the joiner goes, U+FE0F stays
  assert.deepEqual(graphemes("I ❤️ it"), ["I", " ", "❤️", " ", "i", "t"]); // issue 71.24: VS16 kept
  assert.equal(textWidth("❤️"), 1); // one cell in tmux and xterm.js alike
  assert.ok(!graphemes("x 👩‍💻 y").join("").includes("\u200d"));
});

Deno.test("graphemes() draws a joined emoji whole, in the cells the terminal's probe measured (issue 71.24)", () => {
  try {
    useEmojiCells({ vs16: 1, zwj: true, tone: false }); // tmux 3.3a
    assert.deepEqual(graphemes("a👨‍👩‍👧b"), ["a", "👨‍👩‍👧", "b"]);
    // Longer than a tmux cell holds (25 bytes): its parts, every person kept.
    assert.deepEqual(graphemes("a👨‍👩‍👧‍👦b"), ["a", "👨", "👩", "👧", "👦", "b"]);
    assert.equal(textWidth("🏳️‍🌈"), 1); // its first part's cells, as tmux draws it
    assert.deepEqual(graphemes("👍🏽"), ["👍", "🏽"]);
    assert.deepEqual(wrap("👨‍👩‍👧 👨‍👩‍👧 👨‍👩‍👧", 5), ["👨‍👩‍👧 👨‍👩‍👧", "👨‍👩‍👧"]);
    useEmojiCells({ vs16: 2, zwj: true, tone: true }); // kitty
    assert.equal(textWidth("❤️"), 2);
    assert.deepEqual(graphemes("👍🏽!"), ["👍🏽", "!"]);
    assert.equal(textWidth("👍🏽"), 2);
  } finally {
    useEmojiCells(AGREED_EMOJI);
  }
  assert.equal(textWidth("a👨‍👩‍👧b"), 8);
});

Deno.test("wrap() breaks at spaces and hard-breaks long words", () => {
  assert.deepEqual(wrap("hello brave new world", 11), ["hello brave", "new world"]);
  assert.deepEqual(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(wrap("a\nb", 10), ["a", "b"]);
  assert.deepEqual(wrap("", 10), [""]);
});

Deno.test("wrap() never splits or overflows a wide character", () => {
  assert.deepEqual(wrap("你好世界", 3), ["你", "好", "世", "界"]);
  assert.deepEqual(wrap("a你好", 4), ["a你", "好"]);
});

Deno.test("wrap() rows fit the width and keep every non-space character (property)", () => {
  const alphabet = fc.constantFrom("a", "b", " ", "你", "😀", "é");
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 80 }), fc.integer({ min: 2, max: 30 }), (chars, w) => {
      const text = chars.join("");
      const rows = wrap(text, w);
      for (const r of rows) assert.ok(textWidth(r) <= w, `${r} wider than ${w}`);
      assert.equal(rows.join("").replaceAll(" ", ""), text.replaceAll(" ", ""));
    }),
  );
});

Deno.test("truncate() and fit() cut with an ellipsis and pad to the exact width", () => {
  assert.equal(truncate("alexander", 5), "alex…");
  assert.equal(truncate("你好世界", 5), "你好…");
  assert.equal(fit("bob", 6, true), "   bob");
  assert.equal(fit("christopher", 6, true, "+"), "chris+");
  assert.equal(textWidth(fit("你好世界", 5)), 5);
});

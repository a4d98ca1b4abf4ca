import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { EMOJI_PROBE, parseEmojiReplies } from "./emoji_probe.ts";
import { AGREED_EMOJI, type EmojiCells, textWidth, useEmojiCells } from "./width.ts";
import { demoWorld, harness } from "./testing.ts";

Deno.test("parseEmojiReplies() reads the three cursor reports and hands keys back", () => {
  // tmux 3.3a: ❤️ one cell, the family joined in two, the thumb and its tone four.
  assert.deepEqual(parseEmojiReplies("a\x1b[1;2R\x1b[1;3Rb\x1b[1;5Rc\x1b[1;2R"), {
    cells: { vs16: 1, zwj: true, tone: false },
    rest: "abc\x1b[1;2R", // a fourth report is a key (Shift+F3), not ours
  });
  assert.deepEqual(parseEmojiReplies("\x1b[1;3R\x1b[1;7R\x1b[1;3R").cells, {
    vs16: 2,
    zwj: false,
    tone: true,
  });
  assert.equal(parseEmojiReplies("\x1b[1;2R\x1b[1;3").cells, null); // not all there yet
});

/** What the probe measures in @xterm/headless (the TUI tests' screen model, Unicode 11 widths). */
async function xtermCells(): Promise<EmojiCells | null> {
  const term = new xt.Terminal({ cols: 40, rows: 4, allowProposedApi: true });
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11";
  let replies = "";
  term.onData((d) => void (replies += d));
  await new Promise<void>((r) => term.write(EMOJI_PROBE, r));
  term.dispose();
  return parseEmojiReplies(replies).cells;
}

Deno.test("issue 71.24: ❤️ keeps its VS16 on screen, and a family is drawn as the terminal measured keeps it, in line", async () => {
  const cells = await xtermCells();
  assert.deepEqual(cells, { vs16: 1, zwj: false, tone: false }, "xterm.js does not join U+200D sequences");
  useEmojiCells(cells!);
  const h = await harness({ cols: 80, setup: demoWorld });
  try {
    await h.type("\x1b2");
    const from = h.writes.length;
    h.backend.receive("bob", { kind: "room", name: "general" }, "I ❤️ 👨‍👩‍👧 ok");
    const s = await h.settle();
    const drawn = h.writes.slice(from).join("");
    assert.ok(drawn.includes("❤\ufe0f"), "the heart is drawn with its U+FE0F");
    assert.ok(!drawn.includes("\u200d"), "no joiner where the terminal does not join");
    assert.match(s[1]!, /bob │ I ❤️ 👨 ?👩 ?👧 +ok +│Free/, "xterm.js splits the family: drawn as its parts");
    // The member list separator stays in its column on the emoji's row as on the next.
    for (const row of [1, 2]) assert.equal(h.term.buffer.active.getLine(row)!.getCell(67)!.getChars(), "│");
  } finally {
    h.close();
    useEmojiCells(AGREED_EMOJI);
  }
  assert.equal(textWidth("👨‍👩‍👧"), 6);
});

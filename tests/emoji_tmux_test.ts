/**
 * Issue 71.24 on real screens: bob sends `❤️` and a family joined with U+200D; alice's full-screen
 * client in tmux (which joins such sequences: its probe at start, emoji_probe.ts, finds it) draws the
 * heart with its U+FE0F and the family as one cluster, and the nick list's border stays in its column;
 * a family of four, longer than a tmux cell holds, comes as its four people.
 */
import assert from "node:assert/strict";
import { dmOnScreens, skipWithoutTmux } from "./tmux.ts";
import { test } from "./deadline.ts";
import { textWidth, useEmojiCells } from "../lib/client/tui/width.ts";

const FAMILY = "👨‍👩‍👧";

test({
  name: "TUI e2e: ❤️ keeps its VS16 and a ZWJ family stays one cluster on a tmux screen, in line",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("hi bob", async (tm) => {
      await tm.type("bob", `a ${FAMILY} and ❤️ end`);
      // Longer than tmux keeps in a cell (its last person was lost): drawn as its parts, all four shown.
      await tm.type("bob", "four 👨‍👩‍👧‍👦 people");
      const four = await tm.waitFor("alice", (x) => /four .* people/.test(x), "the family of four");
      assert.ok(four.includes("four 👨👩👧👦 people"), four);
      const s = await tm.waitFor("alice", (x) => /and .* end/.test(x), "bob's line");
      const row = s.split("\n").find((l) => l.includes(" end"))!;
      assert.ok(row.includes(`a ${FAMILY} and ❤️ end`), `drawn whole: ${JSON.stringify(row)}`);
      // The border after the message pane sits where it does on the next row (tmux's cells: the family 2).
      useEmojiCells({ vs16: 1, zwj: true, tone: false });
      const next = s.split("\n")[s.split("\n").indexOf(row) + 1]!;
      const border = (l: string) => textWidth(l.slice(0, l.lastIndexOf("│")));
      assert.equal(border(row), border(next), `${row}\n${next}`);
    }),
});

/**
 * Issue 34.7: every emoji the shortcodes produce takes, in a real terminal, the cells the
 * full-screen client counts for it. `❤️` (U+2764 U+FE0F) was counted two cells while tmux and
 * xterm.js move the cursor one, which left a stray character on screen until Ctrl-L. Each emoji is
 * drawn as the client draws it (`graphemes`) into @xterm/headless (Unicode 11 widths, as xterm.js
 * in a browser) and into a tmux pane, and the cursor's advance is compared with `textWidth`. In tmux,
 * as the client does, the terminal is first asked how it draws joined emoji (emoji_probe.ts; tmux 3.3a
 * joins U+200D sequences), and every emoji is drawn that way — whole where tmux joins it (issue 71.24).
 */
import assert from "node:assert/strict";
import xt from "@xterm/headless";
import { Unicode11Addon } from "@xterm/addon-unicode11";
import { allEmoji } from "../lib/client/core/emoji_testing.ts";
import { type EmojiCells, graphemes, textWidth } from "../lib/client/tui/width.ts";
import { PROGRAM_PERMS, rootFile } from "./helpers.ts";
import { skipWithoutTmux } from "./tmux.ts";
import { test } from "./deadline.ts";

const show = (e: string) => [...e].map((c) => c.codePointAt(0)!.toString(16)).join(" ");

function report(bad: { e: string; assumed: number; advance: number }[], where: string): string {
  return `${bad.length} emoji take other cells in ${where} than the client counts:\n` +
    bad.slice(0, 20).map((b) => `${b.e} (${show(b.e)}): counted ${b.assumed}, drawn ${b.advance}`).join("\n");
}

test("emoji widths: each shortcode's emoji advances the cursor of @xterm/headless as far as the client counts", async () => {
  const term = new xt.Terminal({ cols: 40, rows: 2, allowProposedApi: true });
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11";
  const write = (s: string) => new Promise<void>((r) => term.write(s, r));
  const all = allEmoji();
  assert.ok(all.includes("❤️") && all.length > 1000, "the list holds the emoticons and node-emoji's set");
  const bad = [];
  for (const e of all) {
    await write(`\r\x1b[2K${graphemes(e).join("")}`);
    const advance = term.buffer.active.cursorX;
    if (advance !== textWidth(e)) bad.push({ e, assumed: textWidth(e), advance });
  }
  term.dispose();
  assert.equal(bad.length, 0, report(bad, "xterm.js"));
});

test({
  name: "emoji widths: each shortcode's emoji advances the cursor of a tmux pane as far as the client counts",
  ignore: skipWithoutTmux,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const socket = `parley-emoji-${Deno.pid}`;
    const tmux = (...args: string[]) =>
      new Deno.Command("tmux", { args: ["-L", socket, ...args], stdout: "null", stderr: "null" }).output();
    try {
      const out = `${dir}/widths.json`;
      const cmd = `RUST_BACKTRACE=0 ${Deno.execPath()} run ${PROGRAM_PERMS.join(" ")} ` +
        `${rootFile("tests/emoji_width_probe.ts")} ${out} 2>${dir}/stderr`;
      await tmux("new-session", "-d", "-s", "w", "-x", "60", "-y", "5", cmd);
      const end = Date.now() + 60_000;
      type Probe = { cells: EmojiCells; rows: { e: string; assumed: number; advance: number }[] };
      let got: Probe | null = null;
      while (!got && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        got = await Deno.readTextFile(out).then(JSON.parse).catch(() => null);
      }
      assert.ok(
        got,
        `no answer from the probe: ${await Deno.readTextFile(`${dir}/stderr`).catch(() => "")}`,
      );
      assert.ok(got.rows.length > 1000);
      const bad = got.rows.filter((r) => r.assumed !== r.advance);
      assert.equal(
        bad.length,
        0,
        report(bad, `tmux (which the probe found draws ${JSON.stringify(got.cells)})`),
      );
    } finally {
      await tmux("kill-server");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

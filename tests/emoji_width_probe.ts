/**
 * Run by emoji_width_test.ts inside a tmux pane: asks the terminal how it draws joined emoji as the
 * full-screen client does at start (emoji_probe.ts) and draws as it answered (issue 71.24), then draws
 * every emoji the shortcodes produce as the client draws it (its `graphemes`), asks the terminal where
 * the cursor went (CSI 6n) and writes `{ cells, rows: [{ e, assumed, advance }] }` as JSON to the file
 * named by its argument.
 */
import { allEmoji } from "../lib/client/core/emoji_testing.ts";
import { EMOJI_PROBE, parseEmojiReplies } from "../lib/client/tui/emoji_probe.ts";
import { graphemes, textWidth, useEmojiCells } from "../lib/client/tui/width.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const write = (s: string) => {
  const b = enc.encode(s);
  for (let o = 0; o < b.length;) o += Deno.stdout.writeSync(b.subarray(o));
};
const buf = new Uint8Array(256);
const rows: { e: string; assumed: number; advance: number }[] = [];
Deno.stdin.setRaw(true);
let cells = null;
try {
  write(EMOJI_PROBE);
  let replies = "";
  while (!(cells = parseEmojiReplies(replies).cells)) {
    const n = await Deno.stdin.read(buf);
    if (n === null) throw new Error("end of input before the emoji probe's reports");
    replies += dec.decode(buf.subarray(0, n));
  }
  useEmojiCells(cells);
  for (const e of allEmoji()) {
    write(`\r\x1b[2K${graphemes(e).join("")}\x1b[6n`);
    let text = "";
    // deno-lint-ignore no-control-regex
    const CPR = /\x1b\[\d+;(\d+)R/;
    while (!CPR.test(text)) {
      const n = await Deno.stdin.read(buf);
      if (n === null) throw new Error("end of input before the cursor report");
      text += dec.decode(buf.subarray(0, n));
    }
    rows.push({ e, assumed: textWidth(e), advance: Number(CPR.exec(text)![1]) - 1 });
  }
} finally {
  Deno.stdin.setRaw(false);
}
Deno.writeTextFileSync(Deno.args[0]!, JSON.stringify({ cells, rows }));

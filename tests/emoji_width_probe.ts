/**
 * Run by emoji_width_test.ts inside a tmux pane: draws every emoji the shortcodes produce as the
 * full-screen client draws it (its `graphemes`), asks the terminal where the cursor went (CSI 6n)
 * and writes `[{ e, assumed, advance }]` as JSON to the file named by its argument.
 */
import { allEmoji } from "../lib/client/core/emoji_testing.ts";
import { graphemes, textWidth } from "../lib/client/tui/width.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const write = (s: string) => {
  const b = enc.encode(s);
  for (let o = 0; o < b.length;) o += Deno.stdout.writeSync(b.subarray(o));
};
const buf = new Uint8Array(256);
const rows: { e: string; assumed: number; advance: number }[] = [];
Deno.stdin.setRaw(true);
try {
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
Deno.writeTextFileSync(Deno.args[0]!, JSON.stringify(rows));

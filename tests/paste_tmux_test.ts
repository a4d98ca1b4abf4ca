/**
 * A big paste on a real screen (issue 71.1): alice pastes 300 KB (bracketed, one line) into the DM
 * with bob and presses Enter: it goes whole, end to end (bob's screen shows its end), never
 * "Internal error: Maximum call stack size exceeded"; a paste over the server's cap (1 MiB) is
 * refused with the size error the scripted `send` gives.
 */
import assert from "node:assert/strict";
import { aboveInput, dmOnScreens, skipWithoutTmux, type Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** Pastes `file` into `who`'s input, waits for its end (`tail`) there, and sends it. */
async function paste(tm: Tmux, who: string, file: string, tail: string): Promise<void> {
  await tm.paste(who, file, tail);
  await tm.keys(who, "Enter");
}

test({
  name: "TUI e2e: a 300 KB paste goes whole to the other screen; one over the cap gets send's size error",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("a big paste is coming", async (tm) => {
      const dir = await Deno.makeTempDir();
      try {
        const big = `${dir}/big.txt`, huge = `${dir}/huge.txt`;
        await Deno.writeTextFile(big, "lorem ipsum ".repeat(25_000) + "END-OF-PASTE"); // 300 KB
        await Deno.writeTextFile(huge, "lorem ipsum ".repeat(95_000) + "TOO-BIG"); // 1.1 MB
        await paste(tm, "alice", big, "END-OF-PASTE");
        let s = await tm.waitFor(
          "alice",
          (x) => /Internal error|END-OF-PASTE/.test(aboveInput(x)), // sent: in the conversation, not the input
          "the paste sent, on alice's screen",
          60_000,
        );
        assert.doesNotMatch(s, /Internal error/, s);
        await tm.waitFor("bob", (x) => x.includes("END-OF-PASTE"), "the paste's end on bob's screen", 60_000);
        await paste(tm, "alice", huge, "TOO-BIG");
        s = await tm.waitFor(
          "alice",
          (x) => /Not sent: The message is too long/.test(x),
          "the size refusal",
          60_000,
        );
        assert.doesNotMatch(s, /Internal error/, s);
        assert.doesNotMatch(await tm.screen("bob"), /TOO-BIG/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

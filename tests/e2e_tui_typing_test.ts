/**
 * Typing indicators in a real terminal (issue 14): two full-screen `client.ts` processes in tmux
 * against an in-process server. While alice types (without sending) in her query with bob, bob's
 * status line says "alice is typing…"; it goes away when she sends, and her screen never shows it.
 */
import assert from "node:assert/strict";
import { dmOnScreens, skipWithoutTmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name: "TUI e2e (issue 14): bob sees 'alice is typing' while she types, and it goes when she sends",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("hi bob", async (tm) => {
      await tm.keys("alice", "-l", "are you th");
      await tm.waitFor("bob", (s) => s.includes("alice is typing"), "the typing indicator");
      await tm.keys("alice", "-l", "ere?");
      await tm.keys("alice", "Enter");
      const b = await tm.waitFor(
        "bob",
        (s) => s.includes("are you there?") && !s.includes("is typing"),
        "the message, and the indicator gone",
      );
      assert.doesNotMatch(b, /is typing/);
      assert.doesNotMatch(await tm.screen("alice"), /is typing/, "never shown for oneself");
    }),
});

/**
 * Reply, edit, react and delete in a real terminal (issue 39): two full-screen `client.ts` processes
 * in tmux against an in-process server. Bob answers alice's message with /reply (his screen and
 * hers quote it), alice fixes hers with /edit (bob sees "(edited)"), bob reacts with /react
 * :thumbsup: (both see "👍 1 (bob)"), alice takes it back with /delete (bob sees "message deleted").
 */
import assert from "node:assert/strict";
import { dmOnScreens, skipWithoutTmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name:
    "TUI e2e (issue 39): /reply quotes, /edit marks edited, /react counts, /delete removes — on both screens",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("lunch at noon?", async (tm) => {
      await tm.type("bob", "/reply yes please");
      await tm.waitFor(
        "alice",
        (s) => s.includes("↪ bob") || /↪ alice: lunch at noon\?/.test(s),
        "the quote",
      );
      await tm.waitFor("alice", (s) => s.includes("yes please"), "the reply");
      await tm.type("alice", "/edit lunch at one?");
      await tm.waitFor("bob", (s) => s.includes("lunch at one? (edited)"), "the edit on bob's screen");
      await tm.type("bob", "/react :thumbsup:");
      await tm.waitFor("alice", (s) => s.includes("👍 1 (bob)"), "the reaction on alice's screen");
      await tm.type("alice", "/delete");
      const b = await tm.waitFor(
        "bob",
        (s) => s.includes("(message deleted)"),
        "the deletion on bob's screen",
      );
      assert.doesNotMatch(b, /lunch at one\?/, "the text is gone from bob's screen");
    }),
});

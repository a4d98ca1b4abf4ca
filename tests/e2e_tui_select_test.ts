/**
 * Selection mode and disappearing messages in a real terminal (issue 39): two full-screen
 * `client.ts` processes in tmux against an in-process server, alice and bob in a DM. The keys of
 * selection mode (Alt+S, k, r, e, h, +, d y) reply, edit, show the edit history, react and take the
 * reaction back, delete — each seen on the other screen; `/expire` is shown to both and the message
 * goes from both screens after the time. (/reply /edit /react /delete typed: e2e_tui_changes_test.ts.)
 */
import assert from "node:assert/strict";
import { dmOnScreens, skipWithoutTmux, type Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** Presses keys (`-l` text or key names) and waits until the screen shows what they should do. */
async function press(tm: Tmux, who: string, keys: string[], want: RegExp, what: string): Promise<string> {
  await tm.keys(who, ...keys);
  return await tm.waitFor(who, (s) => want.test(s), what);
}

test({
  name: "TUI e2e (issue 39): selection mode keys reply, edit (history shown), react (toggled off), delete",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("lunch at noon?", async (tm) => {
      // bob: Alt+S selects alice's message, r quotes it above the input, Enter sends the reply.
      await press(tm, "bob", ["M-s"], /Selected alice's message/, "bob's selection");
      await press(tm, "bob", ["-l", "r"], /↪ Reply to alice: lunch at noon\?/, "the quote above bob's input");
      await tm.type("bob", "yes please");
      await tm.waitFor("alice", (s) =>
        /↪ alice: lunch at noon\?/.test(s) && s.includes("yes please"), "the reply");
      // alice: k goes from bob's reply up to her own message, e puts its text in the input line.
      await press(tm, "alice", ["M-s"], /Selected bob's message/, "alice's selection");
      await press(tm, "alice", ["-l", "k"], /Selected your message/, "alice's own message");
      await press(tm, "alice", ["-l", "e"], /\[bob\] lunch at noon\?/, "the text to edit");
      await tm.keys("alice", "C-u");
      await tm.type("alice", "lunch at one?");
      await tm.waitFor("bob", (s) =>
        s.includes("lunch at one? (edited)"), "the edit on bob's screen");
      // bob: h shows the message's texts, oldest first.
      await press(tm, "bob", ["M-s"], /Selected your message/, "bob's selection");
      await press(tm, "bob", ["-l", "k"], /Selected alice's message/, "alice's message");
      const h = await press(tm, "bob", ["-l", "h"], /Edits of alice's message/, "the edit history");
      assert.match(h, /\d\d:\d\d {2}lunch at noon\?\n.*\d\d:\d\d {2}lunch at one\? \(now\)/);
      // bob: + then an emoji reacts; the same again takes the reaction back.
      await press(tm, "bob", ["Escape"], /Selected alice's message/, "the history closed");
      await press(tm, "bob", ["-l", "+"], /\[alice\] \/react :/, "the reaction prompt");
      await tm.type("bob", "thumbsup:");
      await tm.waitFor("alice", (s) =>
        s.includes("👍 1 (bob)"), "the reaction on alice's screen");
      await press(tm, "bob", ["M-s"], /Selected your message/, "bob's selection");
      await press(tm, "bob", ["-l", "k"], /Selected alice's message/, "alice's message");
      await press(tm, "bob", ["-l", "a"], /\[alice\] \/react :/, "the reaction prompt");
      await tm.type("bob", "thumbsup:");
      await tm.waitFor("alice", (s) =>
        !s.includes("(bob)") && s.includes("lunch at one?"), "the reaction gone");
      // alice: d asks, y deletes for everyone.
      await press(tm, "alice", ["M-s"], /Selected bob's message/, "alice's selection");
      await press(tm, "alice", ["-l", "k"], /Selected your message/, "alice's own message");
      await press(
        tm,
        "alice",
        ["-l", "d"],
        /Delete your message "lunch at one\?" for everyone\? y\/n/,
        "the question",
      );
      await tm.keys("alice", "-l", "y");
      const b = await tm.waitFor("bob", (s) =>
        s.includes("(message deleted)"), "the deletion on bob's screen");
      assert.doesNotMatch(b, /lunch at/, "the text is gone from bob's screen, his quote of it too");
    }),
});

test({
  name:
    "TUI e2e (issue 39.5): /expire is shown to both, then the message goes from both screens after the time",
  ignore: skipWithoutTmux,
  fn: () =>
    dmOnScreens("hello", async (tm) => {
      await tm.type("alice", "/expire 2s");
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(u, (s) =>
          s.includes("messages here now disappear 2s after they are sent"), "the setting");
      }
      await tm.type("alice", "self destruct");
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(u, (s) =>
          s.includes("self destruct"), "the message");
      }
      const t0 = Date.now();
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(
          u,
          (s) =>
            !s.includes("self destruct"),
          "the message gone",
          10_000,
        );
      }
      assert.ok(Date.now() - t0 < 8000, "gone within the time and a purge tick or two");
      const a = await tm.screen("alice");
      assert.match(a, /hello/, "messages from before the setting stay");
    }),
});

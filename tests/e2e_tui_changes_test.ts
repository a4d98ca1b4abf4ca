/**
 * Reply, edit, react and delete in a real terminal (issue 39): two full-screen `client.ts` processes
 * in tmux against an in-process server. Bob answers alice's message with /reply (his screen and
 * hers quote it), alice fixes hers with /edit (bob sees "(edited)"), bob reacts with /react
 * :thumbsup: (both see "👍 1 (bob)"), alice takes it back with /delete (bob sees "message deleted").
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name:
    "TUI e2e (issue 39): /reply quotes, /edit marks edited, /react counts, /delete removes — on both screens",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes: string[] = [];
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      for (const u of ["alice", "bob"]) {
        const home = await Deno.makeTempDir();
        homes.push(home);
        await tm.start(u, u, home);
      }
      for (const u of ["alice", "bob"]) {
        await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await tm.type("alice", "/query bob lunch at noon?");
      await tm.waitFor("bob", (s) => /\d\.alice/.test(s), "alice's query on bob");
      await tm.type("bob", "/query alice");
      await tm.waitFor("bob", (s) => s.includes("lunch at noon?"), "bob in alice's query");
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
      for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

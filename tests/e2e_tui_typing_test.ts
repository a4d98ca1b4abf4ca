/**
 * Typing indicators in a real terminal (issue 14): two full-screen `client.ts` processes in tmux
 * against an in-process server. While alice types (without sending) in her query with bob, bob's
 * status line says "alice is typing…"; it goes away when she sends, and her screen never shows it.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name: "TUI e2e (issue 14): bob sees 'alice is typing' while she types, and it goes when she sends",
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
      await tm.type("alice", "/query bob hi bob");
      await tm.waitFor("bob", (s) => /\d\.alice/.test(s), "alice's query on bob");
      await tm.type("bob", "/query alice");
      await tm.waitFor("bob", (s) => s.includes("hi bob"), "bob in alice's query");
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
      for (const u of ["alice", "bob"]) await tm.type(u, "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of homes) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

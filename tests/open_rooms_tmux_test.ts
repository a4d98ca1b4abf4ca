/**
 * Open rooms on real screens (issue 71.12): alice types `/room create --open lobby` and gives it a
 * public description; bob, in no room, types `/list` and sees #lobby with its member count and
 * description, then `/join #lobby` enters it; he reads what alice says after that. Alice types
 * `/room close lobby`, and carol's `/join #lobby` shows the refusal.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name:
    "TUI e2e: /room create --open, /list shows the open room to a non-member, /join enters it, /room close",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const users = ["alice", "bob", "carol"] as const;
    const homes: Record<string, string> = {};
    try {
      for (const u of users) {
        homes[u] = await Deno.makeTempDir();
        (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      }
      for (const u of users) {
        await tm.start(u, u, homes[u]!, { keepPane: true, cols: 140 });
        await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await tm.type("alice", "/room create --open lobby");
      await tm.waitFor("alice", (s) => /\[#lobby\]/.test(s), "alice's #lobby");
      await tm.type("alice", "/buffer 1"); // what a command says is said where it was typed
      await tm.waitFor(
        "alice",
        (s) => s.includes("#lobby is open: anyone on this server may /join it"),
        "open",
      );
      await tm.type("alice", "/room open lobby Questions welcome");
      await tm.waitFor("alice", (s) => s.includes("description: Questions welcome"), "described");
      await tm.type("alice", "/msg #lobby said before bob came");

      await tm.type("bob", "/list");
      const listed = await tm.waitFor(
        "bob",
        (s) => /#lobby \(1 member\): Questions welcome/.test(s),
        "bob's /list",
      );
      assert.match(listed, /You are in no room yet/);
      assert.match(listed, /1 open room on this server \(\/join #ROOM enters one; descriptions are public\)/);
      await tm.type("bob", "/join #lobby");
      await tm.waitFor(
        "bob",
        (s) => /\[#lobby\]/.test(s) && /You are in #lobby: alice, bob/.test(s),
        "bob in #lobby",
      );
      await tm.waitFor("alice", (s) => /bob joined #lobby by themself/.test(s), "alice is told bob joined");
      await tm.type("alice", "/msg #lobby welcome bob");
      const b = await tm.waitFor("bob", (s) => /alice │ welcome bob/.test(s), "bob reads alice");
      assert.doesNotMatch(b, /said before bob came/);
      await tm.type("bob", "/buffer 1");
      await tm.waitFor("bob", (s) => /Joined #lobby \(an open room, 2 members\)/.test(s), "bob's join said");

      await tm.type("alice", "/room close lobby");
      await tm.waitFor("alice", (s) => s.includes("#lobby is closed"), "closed");
      await tm.type("carol", "/join #lobby");
      await tm.waitFor(
        "carol",
        (s) => /#lobby is not open: ask one of its members to invite you/.test(s),
        "refused",
      );
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * `/quit TEXT` on real screens (issue 71.5, as IRC's quit message): alice and bob in a room, alice
 * types `/quit see you tomorrow`; bob's #team shows it from alice, end to end, and alice's client ends.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name: "TUI e2e: /quit TEXT says TEXT to alice's rooms (bob's #team shows it) and quits",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes = { alice: await Deno.makeTempDir(), bob: await Deno.makeTempDir() };
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      for (const u of ["alice", "bob"] as const) {
        await tm.start(u, u, homes[u], { keepPane: true, cols: 120 });
        await tm.waitFor(u, (s) => s.includes(`Welcome to Parley, ${u}`), "welcome");
      }
      await tm.type("alice", "/room create team bob");
      await tm.waitFor("bob", (s) => /#team/.test(s), "the room on bob");
      await tm.type("bob", "/join #team");
      await tm.waitFor("bob", (s) => /\[#team\]/.test(s), "bob in #team");
      await tm.type("alice", "/quit see you tomorrow");
      const a = await tm.waitFor(
        "alice",
        (s) => s.includes("CLIENT-EXITED") || /Usage: \/quit/.test(s),
        "the end",
      );
      assert.doesNotMatch(a, /Usage: \/quit/, a);
      const b = await tm.waitFor(
        "bob",
        (s) => /alice │ see you tomorrow/.test(s),
        "alice's quit message in #team",
      );
      assert.match(b, /\[#team\]/);
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Buffer numbers across restarts on real screens (issue 71.10): alice's DM with bob became buffer 2
 * and #proj buffer 3; after a restart the rooms used to come first (2.#proj 3.bob: Alt+2 opened
 * another conversation). The order is kept in the client folder's local store; `/buffer move N`
 * changes it, kept across the next restart too.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** The buffer list's names, top to bottom, as the screen shows them. */
const list = (s: string) => [...s.matchAll(/^(\d+\.\S+)/gm)].map((m) => m[1]);

test({
  name: "TUI e2e: buffer numbers stay across a restart; /buffer move N changes one, kept too",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const home = await Deno.makeTempDir(), bobHome = await Deno.makeTempDir();
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      await tm.start("a1", "alice", home, { cols: 120 });
      await tm.waitFor("a1", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      const sent = await tm.cli("bob", bobHome, "send", "alice", "hello from bob");
      assert.equal(sent.code, 0, sent.err);
      await tm.waitFor("a1", (s) => /^2\.bob/m.test(s), "bob's DM as buffer 2");
      await tm.type("a1", "/room create proj bob");
      let s = await tm.waitFor("a1", (x) => /^3\.#proj/m.test(x), "#proj as buffer 3");
      assert.deepEqual(list(s), ["1.status", "2.bob", "3.#proj"], s);
      await tm.type("a1", "/quit");
      await tm.waitFor("a1", () => false, "", 1500).catch(() => "");

      await tm.start("a2", "alice", home, { cols: 120 });
      s = await tm.waitFor("a2", (x) => /^3\./m.test(x), "both buffers after the restart");
      assert.deepEqual(list(s), ["1.status", "2.bob", "3.#proj"], s);
      await tm.keys("a2", "M-3");
      await tm.waitFor("a2", (x) => /\[#proj\]/.test(x), "Alt+3: #proj, as before");
      await tm.type("a2", "/buffer move 2");
      s = await tm.waitFor("a2", (x) => /^2\.#proj/m.test(x), "#proj moved to 2");
      await tm.type("a2", "/quit");
      await tm.waitFor("a2", () => false, "", 1500).catch(() => "");

      await tm.start("a3", "alice", home, { cols: 120 });
      s = await tm.waitFor("a3", (x) => /^3\./m.test(x), "both buffers after the second restart");
      assert.deepEqual(list(s), ["1.status", "2.#proj", "3.bob"], s);
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [home, bobHome]) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Disappearing messages that expired while their recipient was away, in a real terminal (issue
 * 71.7): alice sets `expire bob 2s` and sends "self destruct" (scripted) while bob is offline; bob
 * starts his full-screen client after the time — at once: the server's clock is injected a minute
 * behind, so it stamps the message a minute ago, and a disappearing message's time runs from that
 * stamp (no waiting out the 2 s). Only the setting line shows, and the count of what arrived while
 * away says one message, never one that is gone.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name: "TUI: a message that disappeared while away is not counted in 'N new messages … while you were away'",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer({}, { clock: { now: () => Date.now() - 60_000 } });
    const tm = new Tmux(t.port);
    const homes = { alice: await Deno.makeTempDir(), bob: await Deno.makeTempDir() };
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      assert.equal((await tm.cli("bob", homes.bob, "login")).code, 0); // bob's keys published
      const set = await tm.cli("alice", homes.alice, "expire", "bob", "2s");
      assert.equal(set.code, 0, set.err);
      const sent = await tm.cli("alice", homes.alice, "send", "bob", "self destruct");
      assert.equal(sent.code, 0, sent.err);
      // Its time was up before bob is back: the server (its clock injected a minute behind) stamped
      // it a minute ago, and a disappearing message's time runs from the server's stamp.
      await tm.start("bob", "bob", homes.bob);
      const s = await tm.waitFor("bob", (x) => /while you were away/.test(x), "the count of what came");
      assert.match(s, /1 new message in 1 conversation while you were away/, s);
      assert.doesNotMatch(s, /self destruct/, s);
      await tm.keys("bob", "M-2");
      const dm = await tm.waitFor("bob", (x) => /\[alice\]/.test(x), "the DM with alice");
      assert.match(dm, /disappear 2s after they are sent/, "the setting line shows");
      assert.doesNotMatch(dm, /self destruct/, dm);
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * The two lines a ban gives on a real screen agree (issue 71.8): the ban line ("… until 09:21 (in 30 s)")
 * and the reconnect notice ("… when the ban ends at 09:21 (in 30 s)") name the end with one rounding
 * rule (lib/common/parse_time.ts `untilText`), never "(in 30 s)" beside "(in 1 min)".
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name: "TUI: a 30 s ban's line and its reconnect notice say the same end, '(in 30 s)' both",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const home = await Deno.makeTempDir();
    try {
      (await t.client("bob", { password: PASSWORD, kdf: {} })).close();
      await tm.start("bob", "bob", home, { cols: 160 });
      await tm.waitFor("bob", (s) => s.includes("Welcome to Parley"), "welcome");
      await t.srv.core.kick("console", "bob", 30, "cool down");
      const s = await tm.waitFor("bob", (x) => /when the ban ends at/.test(x), "the reconnect notice");
      const ban = /until (\d\d:\d\d) \(in (\d+) s\)/.exec(s);
      const notice = /when the ban ends at (\d\d:\d\d) \(in ([^)]+)\)/.exec(s);
      assert.ok(ban && notice, s);
      assert.equal(notice[1], ban[1], "the same time of day");
      const secs = /^(\d+) s$/.exec(notice[2]!);
      assert.ok(secs, `the notice counts seconds too, as the ban line does: "in ${notice[2]}"\n${s}`);
      assert.ok(Math.abs(Number(secs[1]) - Number(ban[2])) <= 1, s);
    } finally {
      await tm.stop();
      await t.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});

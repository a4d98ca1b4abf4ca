/**
 * Settings on real screens (issue 71.11) and a conversation's plain-text log (71.13): alice's folder
 * holds a `config` with two bad lines, which her client names by number at start and ignores, while
 * its good line (seconds in the time column) applies; `/set` refuses a value naming the allowed
 * ones, applies `buffers off` at once and saves the file; `/set log on` in her DM with bob warns that
 * the log is not encrypted and appends bob's next line to `logs/alice/bob.log` (0600). bob's settings
 * go to `$XDG_CONFIG_HOME/parley/config` when that is set.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** Resolves once `path` holds text `pred` accepts (the client writes it after it drew the line). */
async function fileHolds(path: string, pred: (t: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const t = await Deno.readTextFile(path).catch(() => "");
    if (pred(t)) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path}: no ${what}`);
}

test({
  name:
    "TUI e2e: the config file's bad lines named at start, /set applies and saves, /set log on writes a 0600 log",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes = { alice: await Deno.makeTempDir(), bob: await Deno.makeTempDir() };
    const xdg = await Deno.makeTempDir();
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      await Deno.writeTextFile(
        `${homes.alice}/config`,
        "# alice's\ntime_format = %H:%M:%S\nnick_colours = red\nnicklist_width = 99\n",
      );
      await tm.start("alice", "alice", homes.alice, {
        cols: 220,
        env: `PARLEY_PASSWORD=${PASSWORD} XDG_CONFIG_HOME=`,
      });
      await tm.start("bob", "bob", homes.bob, {
        cols: 220,
        env: `PARLEY_PASSWORD=${PASSWORD} XDG_CONFIG_HOME=${xdg}`,
      });
      let a = await tm.waitFor("alice", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      a = await tm.waitFor("alice", (s) => /config line 4/.test(s), "the bad lines");
      assert.match(a, /config line 3: No setting "nick_colours"/);
      assert.match(a, /config line 4: nicklist_width cannot be "99": allowed values are auto or 8-40/);
      assert.match(a, /\d\d:\d\d:\d\d\s+-- │ Welcome to Parley, alice/, "the good line applies");
      await tm.type("alice", "/set notify loud");
      await tm.waitFor(
        "alice",
        (s) => /notify cannot be "loud": allowed values are auto\|none\|bell\|osc9\|osc777/.test(s),
        "refusal",
      );
      assert.match(a, /1\.status/);
      await tm.type("alice", "/set buffers off");
      a = await tm.waitFor("alice", (s) => /buffers = off \(saved in /.test(s), "buffers off");
      assert.doesNotMatch(a, /1\.status/, "the buffer list went at once");
      const saved = await Deno.readTextFile(`${homes.alice}/config`);
      assert.match(saved, /^buffers = off$/m);
      assert.match(saved, /^time_format = %H:%M:%S$/m);
      assert.match(saved, /^nicklist_width = 99$/m, "a bad line is kept for its owner to fix");

      await tm.type("alice", "/query bob");
      await tm.type("alice", "/set log on");
      await tm.waitFor("alice", (s) => /NOT encrypted/.test(s), "the warning");
      await tm.type("bob", "/msg alice hello from bob, logged");
      await tm.waitFor("alice", (s) => /bob │ hello from bob, logged/.test(s), "bob's line");
      const log = `${homes.alice}/logs/alice/bob.log`;
      await fileHolds(log, (x) => /\tbob\thello from bob, logged\n/.test(x), "bob's line");
      assert.equal((await Deno.stat(log)).mode! & 0o777, 0o600);
      assert.match(await Deno.readTextFile(`${homes.alice}/config`), /^log\.bob = on$/m);

      await tm.type("bob", "/set nicklist off");
      await tm.waitFor("bob", (s) => /nicklist = off \(saved in /.test(s), "bob's setting");
      assert.match(await Deno.readTextFile(`${xdg}/parley/config`), /^nicklist = off$/m);
      await assert.rejects(Deno.stat(`${homes.bob}/config`), Deno.errors.NotFound);
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [...Object.values(homes), xdg]) {
        await Deno.remove(h, { recursive: true }).catch(() => {});
      }
    }
  },
});

test({
  name: "TUI e2e: peer mode's /set saves in the same settings file",
  ignore: skipWithoutTmux,
  fn: async () => {
    const tm = new Tmux(0);
    const home = await Deno.makeTempDir();
    try {
      await tm.startPeer("p", "alice", home, "127.0.0.1:0", "XDG_CONFIG_HOME=", 200);
      await tm.waitFor("p", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      await tm.type("p", "/set time_format %H.%M");
      await tm.waitFor("p", (s) => /time_format = %H\.%M \(saved in /.test(s), "saved");
      assert.match(await Deno.readTextFile(`${home}/config`), /^time_format = %H\.%M$/m);
    } finally {
      await tm.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});

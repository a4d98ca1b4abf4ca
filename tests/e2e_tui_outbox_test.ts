/**
 * Issue 34 in a real terminal (tmux, real `client.ts` processes, in-process server):
 * - 34.1: a message over the server's frame cap never poisons the outbox: one queued while offline
 *   is marked ✗ once the server's cap is known and never sent again (no reconnect loop); typed while
 *   online it is refused at once with the limit; `/outbox` lists it and `/outbox drop N` removes it.
 * - 34.13: `/inbox` lists the messages with their times.
 * - 34.14: scripted one-shot commands print no online/offline lines in an open conversation.
 */
import assert from "node:assert/strict";
import { startTestServer } from "./helpers.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

test({
  name:
    "TUI e2e (issue 34.13, 34.14): one-shot commands announce no presence; /inbox lists messages with times",
  ignore: skipWithoutTmux,
  fn: async () => {
    const t = await startTestServer();
    const tm = new Tmux(t.port);
    const homes = { alice: await Deno.makeTempDir(), bob: await Deno.makeTempDir() };
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      await tm.start("alice", "alice", homes.alice);
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      await tm.type("alice", "/query bob");
      await tm.waitFor("alice", (s) => /^\[bob\] *$/m.test(s), "bob's buffer");
      for (let i = 1; i <= 3; i++) {
        const r = await tm.cli("bob", homes.bob, "send", "alice", `one-shot ${i}`);
        assert.equal(r.code, 0, r.err);
      }
      for (const cmd of [["who"], ["read"], ["videos"]]) await tm.cli("bob", homes.bob, ...cmd);
      await tm.waitFor("alice", (s) => s.includes("one-shot 3"), "the third message");
      // Fence: presence goes out in ticks, in order; bob's interactive login is said after any tick
      // that would have said a one-shot session.
      const live = await t.client("bob", { password: PASSWORD, kdf: {}, register: false });
      const s = await tm.waitFor("alice", (x) => /bob is online/.test(x), "bob's real login said");
      live.close();
      assert.equal(
        s.match(/bob (is online|is offline|joined and left)/g)?.length,
        1,
        `presence lines:\n${s}`,
      );

      await tm.type("alice", "/inbox");
      const inbox = await tm.waitFor("alice", (x) => x.includes("Inbox: 3 messages"), "the inbox list");
      for (let i = 1; i <= 3; i++) {
        assert.match(inbox, new RegExp(`\\d\\d:\\d\\d bob: one-shot ${i}`), `message ${i} with its time`);
      }
      await tm.type("alice", "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name:
    "TUI e2e (issue 34.1): a message over the frame cap is refused or marked ✗, never resent, and /outbox drops it",
  ignore: skipWithoutTmux,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const home = await Deno.makeTempDir();
    const bobHome = await Deno.makeTempDir();
    const big = `${home}/big.txt`;
    await Deno.writeTextFile(big, "lorem ipsum ".repeat(9000) + "PASTE-END"); // 108 kB, one line
    let t = await startTestServer({}, { dir }); // the default cap (1 MiB) first
    const tm = new Tmux(t.port);
    const paste = async () => {
      await tm.paste("alice", big, "PASTE-END");
      await tm.keys("alice", "Enter");
    };
    try {
      for (const u of ["alice", "bob"]) (await t.client(u, { password: PASSWORD, kdf: {} })).close();
      const keys = await tm.cli("bob", bobHome, "login"); // publishes bob's keys
      assert.equal(keys.code, 0, keys.err);
      await tm.start("alice", "alice", home);
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley, alice"), "welcome");
      await tm.type("alice", "/query bob");
      await tm.waitFor("alice", (s) => /^\[bob\] *$/m.test(s), "bob's buffer");
      await tm.type("alice", "first, small");
      await tm.waitFor("alice", (s) => /alice │ first, small/.test(s), "a message that went");

      // Offline, the long text is queued (the cap known then was 1 MiB): ⋯.
      await t.stop();
      await tm.waitFor("alice", (s) => /offline|reconnect/i.test(s), "the client noticing");
      await paste();
      await tm.waitFor("alice", (s) => /⋯ (lorem|ipsum) /.test(s), "the long message queued (⋯)");

      // The server comes back with a 64 KiB cap: the message is marked ✗ and never sent again.
      t = await startTestServer({ port: t.port, maxFrame: 64 * 1024 }, { dir });
      await tm.type("alice", "/reconnect");
      const failed = await tm.waitFor(
        "alice",
        (s) => /✗ (lorem|ipsum) /.test(s),
        "the message marked ✗",
        30_000,
      );
      assert.doesNotMatch(failed, /⋯ (lorem|ipsum)/, failed);
      const logins = () => t.lines.filter((l) => / INFO login user=alice /.test(l)).length;
      // A first line settles the client: typed after /reconnect, it goes once that is done (the
      // client's own backoff may have logged in already, and /reconnect then starts a session of its
      // own: one login or two, as a loaded machine restarts the server slower).
      await tm.type("alice", "settled");
      await tm.waitFor("alice", (s) => /alice │ settled/.test(s), "a first line sent");
      const before = logins();
      assert.ok(before === 1 || before === 2, `${before} logins after the restart`);
      // Fence: a later line goes on the same session, after anything the outbox sends again there;
      // what must not happen is a loop (the ✗ message sent again, the connection reset, again).
      await tm.type("alice", "after the failed one");
      await tm.waitFor("alice", (s) => /alice │ after the failed one/.test(s), "a later line sent");
      assert.equal(logins(), before, "no reconnect loop");
      assert.ok(
        !t.lines.some((l) => l.includes("frame_too_large")),
        "the server never had to refuse a frame",
      );

      // Online, the same text is refused at once, with the limit; nothing is queued.
      await paste();
      await tm.waitFor(
        "alice",
        (s) => /Not sent: The message is too long .*at most/.test(s.replace(/\n/g, " ")),
        "the refusal with the limit",
      );

      await tm.type("alice", "/outbox");
      const flat = (s: string) => s.replace(/[\n│]/g, " ").replace(/ +/g, " ");
      const entry = /(\d+)\. \d\d:\d\d → bob: lorem ipsum.*\(✗ failed/;
      const list = flat(await tm.waitFor("alice", (s) => entry.test(flat(s)), "/outbox"));
      const n = entry.exec(list)![1]!;
      assert.equal(list.match(/\d+\. \d\d:\d\d → /g)?.length, 1, "only the one message is in the outbox");
      assert.match(list, new RegExp(`/outbox drop ${n} removes it`), "the notice said how to remove it");
      // The scripted view of the same folder (another process, while the screen runs).
      const cli = await tm.cli("alice", home, "outbox");
      assert.equal(cli.code, 0, cli.err);
      assert.match(cli.out, new RegExp(`^${n} \\S+Z bob failed (lorem ipsum ){5}`));
      assert.equal(cli.out.trim().split("\n").length, 1, cli.out);
      const js = JSON.parse((await tm.cli("alice", home, "outbox", "--json")).out);
      assert.equal(js.length, 1);
      assert.deepEqual([js[0].id, js[0].to, js[0].state], [Number(n), "bob", "failed"]);
      assert.match(js[0].reason, /too long/);
      const none = await tm.cli("alice", home, "outbox", "drop", "999");
      assert.equal(none.code, 1);
      assert.match(none.err, /no message 999 in the outbox/);
      await tm.type("alice", `/outbox drop ${n}`);
      const after = await tm.waitFor("alice", (s) => s.includes(`Dropped message ${n} to bob`), "the drop");
      assert.doesNotMatch(after, /✗ (lorem|ipsum)/, "its line left the screen");
      await tm.type("alice", "/outbox");
      await tm.waitFor("alice", (s) => s.includes("The outbox is empty"), "an empty outbox");
      assert.match((await tm.cli("alice", home, "outbox")).err, /The outbox is empty/);
      await tm.type("alice", "/quit");
    } finally {
      await tm.stop();
      await t.stop();
      for (const h of [dir, home, bobHome]) await Deno.remove(h, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * `parley irc` as a program with a real IRC client (issue 72): a spawned server, alice's `parley irc`
 * (its password file 0600, `--show-password`) and irssi in tmux —
 * connect, join a room, query a contact, `/me`, `/away`, `/part` with a message, `/quit`, reconnect
 * and see the line missed meanwhile — while bob uses the scripted client.
 */
import assert from "node:assert/strict";
import { assertNoPlaintext, runAs, spawnServerProcess } from "./helpers.ts";
import { skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";
import { PROGRAM_PERMS, rootFile } from "./helpers.ts";

const has = (cmd: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).outputSync().success;
const hasIrssi = has("irssi");
const hasWeechat = has("weechat-headless");

/** alice's `parley irc --listen 127.0.0.1:0` against the server on `port`: the child and the port it printed. */
async function spawnIrc(port: number, dir: string): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PROGRAM_PERMS,
      rootFile("client.ts"),
      "irc",
      "--listen",
      "127.0.0.1:0",
      "--server",
      `127.0.0.1:${port}`,
      "--user",
      "alice",
      "--home",
      `${dir}/home-alice`,
      "--trust-on-first-use",
    ],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PARLEY_PASSWORD: "pw-alice-secret" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  while (!/listening 127\.0\.0\.1:\d+/.test(banner)) {
    const r = await reader.read();
    if (r.done) throw new Error(`parley irc ended: ${banner}`);
    banner += r.value;
  }
  reader.releaseLock();
  return { child, port: Number(/listening 127\.0\.0\.1:(\d+)/.exec(banner)![1]) };
}

test({
  name:
    "irc: irssi in tmux through `parley irc`: join, query, /me, /away, /part, /quit, missed lines on return",
  ignore: skipWithoutTmux || !hasIrssi,
  deadlineMs: 180_000,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-irc-" });
    const srv = await spawnServerProcess(dir);
    const t = { port: srv.port, dir };
    const tmux = new Tmux(srv.port);
    let irc: { child: Deno.ChildProcess; port: number } | null = null;
    try {
      for (const u of ["alice", "bob"]) assert.equal((await runAs(t, u, ["register"])).code, 0);
      const pw = (await runAs(t, "alice", ["irc", "--show-password"])).out.trim();
      assert.match(pw, /^[0-9a-f]{36}$/);
      assert.equal((await Deno.stat(`${dir}/home-alice/irc-password`)).mode! & 0o777, 0o600);

      irc = await spawnIrc(srv.port, dir);
      const port = irc.port;
      await Deno.mkdir(`${dir}/irssi`);
      const irssi = `irssi --home=${dir}/irssi -c 127.0.0.1 -p ${port} -w ${pw} -n alice`;
      await tmux.run("new-session", "-d", "-s", "irc", "-x", "160", "-y", "40", irssi);
      await tmux.waitFor("irc", (s) => /Welcome to Parley through IRC/.test(s), "the welcome");

      await tmux.type("irc", "/join #den");
      await tmux.waitFor("irc", (s) => /alice .*has joined #den|Join to #den/.test(s), "joined #den");
      await tmux.type("irc", "/invite bob #den");
      await tmux.type("irc", "hello-room-from-irssi");
      await tmux.type("irc", "/me waves");
      await tmux.type("irc", "/msg bob hello-dm-from-irssi");
      const read = async () => (await runAs(t, "bob", ["read"])).out;
      let seen = "";
      for (let i = 0; i < 40 && !(/hello-dm-from-irssi/.test(seen) && /\/me waves/.test(seen)); i++) {
        seen += await read();
      }
      assert.match(seen, /alice -> bob: hello-dm-from-irssi/);
      assert.match(seen, /alice -> #den: \/me waves/);

      assert.equal((await runAs(t, "bob", ["send", "alice", "hello-back-from-bob"])).code, 0);
      await tmux.type("irc", "/query bob");
      await tmux.waitFor("irc", (s) => /hello-back-from-bob/.test(s), "bob's answer in a query");
      await tmux.type("irc", "/away lunch");
      await tmux.waitFor("irc", (s) => /alice \(zZzZ\)/.test(s), "away (irssi marks the nick)");
      await tmux.type("irc", "/window goto #den");
      await tmux.type("irc", "/part #den see-you");
      await tmux.waitFor("irc", (s) => !/\[#den\]/.test(s) || /has left #den/.test(s), "parted");
      seen = "";
      for (let i = 0; i < 40 && !/left: see-you/.test(seen); i++) seen += await read();
      assert.match(seen, /alice -> #den: \/me left: see-you/);
      await tmux.type("irc", "/quit bye");
      await tmux.run("kill-session", "-t", "irc").catch(() => "");

      assert.equal((await runAs(t, "bob", ["send", "alice", "missed-while-away"])).code, 0);
      await tmux.run("new-session", "-d", "-s", "irc2", "-x", "160", "-y", "40", irssi);
      await tmux.waitFor("irc2", (s) => /Welcome to Parley through IRC/.test(s), "the welcome again");
      await tmux.type("irc2", "/query bob");
      await tmux.waitFor("irc2", (s) => /missed-while-away/.test(s), "the missed line", 30_000);
      await assertNoPlaintext(dir, [], [
        "hello-room-from-irssi",
        "hello-dm-from-irssi",
        "hello-back-from-bob",
        "see-you",
        "missed-while-away",
      ]);
    } finally {
      await tmux.stop();
      if (irc) {
        irc.child.kill("SIGTERM");
        await irc.child.status;
      }
      await srv.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

test({
  name:
    "irc: weechat-headless through `parley irc`: joins the room, talks in it and in a query, its logs hold both sides",
  ignore: Deno.build.os === "windows" || !hasWeechat,
  deadlineMs: 180_000,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-irc-" });
    const srv = await spawnServerProcess(dir);
    const t = { port: srv.port, dir };
    let irc: { child: Deno.ChildProcess; port: number } | null = null;
    let wee: Deno.ChildProcess | null = null;
    try {
      for (const u of ["alice", "bob"]) assert.equal((await runAs(t, u, ["register"])).code, 0);
      assert.equal((await runAs(t, "bob", ["room", "create", "den", "alice"])).code, 0);
      const pw = (await runAs(t, "alice", ["irc", "--show-password"])).out.trim();
      irc = await spawnIrc(srv.port, dir);
      const home = `${dir}/weechat`;
      await Deno.mkdir(home);
      const setup = [
        "/set logger.file.flush_delay 0",
        "/set irc.server_default.ssl off",
        `/server add parley 127.0.0.1/${irc.port} -password=${pw} -nicks=alice`,
        "/connect parley",
      ].join(";");
      wee = new Deno.Command("weechat-headless", {
        args: ["--dir", home, "--no-script", "--run-command", setup],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const logs = `${home}/logs`;
      const log = async (name: string) => await Deno.readTextFile(`${logs}/${name}`).catch(() => "");
      const fifo = async () => {
        for await (const e of Deno.readDir(home)) {
          if (e.name.startsWith("weechat_fifo")) return `${home}/${e.name}`;
        }
        return null;
      };
      const until = async (what: string, ok: () => Promise<boolean>) => {
        for (let i = 0; i < 300 && !await ok(); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(await ok(), what);
      };
      await until("weechat joined #den", async () => /alice/.test(await log("irc.parley.#den.weechatlog")));
      const path = (await fifo())!;
      const say = (line: string) => Deno.writeTextFile(path, line + "\n", { append: true });
      await say("irc.parley.#den */me hums in the room");
      await say("irc.parley.#den *hello-room-from-weechat");
      await say("irc.server.parley */msg bob hello-dm-from-weechat");
      let seen = "";
      for (let i = 0; i < 40 && !/hello-dm-from-weechat/.test(seen); i++) {
        seen += (await runAs(t, "bob", ["read"])).out;
      }
      assert.match(seen, /alice -> #den: \/me hums in the room/);
      assert.match(seen, /alice -> #den: hello-room-from-weechat/);
      assert.match(seen, /alice -> bob: hello-dm-from-weechat/);
      assert.equal((await runAs(t, "bob", ["send", "#den", "hello-room-from-bob"])).code, 0);
      assert.equal((await runAs(t, "bob", ["send", "alice", "hello-query-from-bob"])).code, 0);
      await until(
        "bob's room line in the log",
        async () => /bob\thello-room-from-bob/.test(await log("irc.parley.#den.weechatlog")),
      );
      await until(
        "bob's DM in the query's log",
        async () => /bob\thello-query-from-bob/.test(await log("irc.parley.bob.weechatlog")),
      );
      assert.match(await log("irc.parley.#den.weechatlog"), /\*\talice hums in the room/);
      await assertNoPlaintext(dir, [], [
        "hums in the room",
        "hello-room-from-weechat",
        "hello-dm-from-weechat",
        "hello-room-from-bob",
        "hello-query-from-bob",
      ]);
    } finally {
      if (wee) {
        wee.kill("SIGTERM");
        await wee.status;
      }
      if (irc) {
        irc.child.kill("SIGTERM");
        await irc.child.status;
      }
      await srv.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Issue 9, "no message lost or unseen", end to end with real processes: a spawned `server.ts` (its
 * console on stdin; stopped and started again where the test needs it), full-screen clients in
 * tmux and scripted `client.ts` commands. Offline catch-up on screen; one folder shared by the
 * full-screen client and scripted sends; `kill -9` while receiving; text typed while the server is
 * down; live role and status; reconnect after a ban.
 */
import assert from "node:assert/strict";
import { LocalStore } from "../lib/client/session/local_store.ts";
import { serverKey } from "../lib/client/session/trust.ts";
import { accountSecrets, checkAccountKdf } from "../lib/crypto/account_kdf.ts";
import { eventually, spawnServerProcess, testArgon, testKdf } from "./helpers.ts";
import { ChatClient } from "../lib/client/core/chat_client.ts";
import { Connection } from "../lib/client/session/connection.ts";
import { attachE2e } from "../lib/client/start/e2e_attach.ts";
import { PASSWORD, skipWithoutTmux, Tmux } from "./tmux.ts";
import { test } from "./deadline.ts";

/** A spawned `server.ts` (console on its stdin) with its data folder; restartable on the same port. */
class Server {
  private constructor(readonly dir: string, public p: Awaited<ReturnType<typeof spawnServerProcess>>) {}
  static async start(): Promise<Server> {
    const dir = await Deno.makeTempDir({ prefix: "parley-srv-" });
    return new Server(dir, await spawnServerProcess(dir, { console: true, args: SERVER_ARGS }));
  }
  get port(): number {
    return this.p.port;
  }
  /** A line typed at the server console ("/grant bob"). */
  console(line: string): Promise<void> {
    return this.p.consoleLine(line);
  }
  stop(): Promise<void> {
    return this.p.stop();
  }
  /** Started again on the same port and data folder. */
  async restart(): Promise<void> {
    this.p = await spawnServerProcess(this.dir, { console: true, port: this.port, args: SERVER_ARGS });
  }
  /** An in-process end-to-end client (keys in `home`), for load the test only drives. */
  async e2eClient(user: string, home: string): Promise<ChatClient> {
    const server = `127.0.0.1:${this.port}`;
    const store = new LocalStore(LocalStore.pathFor(home, user, await serverKey(this.p.cert)));
    const conn = await Connection.open({ host: "127.0.0.1", port: this.port, caPem: this.p.cert });
    const c = await ChatClient.login({
      conn,
      server,
      user,
      password: PASSWORD,
      register: true,
      store,
      kdf: testKdf,
    });
    await attachE2e(c, PASSWORD, { params: testArgon });
    return c;
  }
}
const SERVER_ARGS = ["--login-rate", "0", "--register-rate", "0", "--msg-rate", "0"];

interface World {
  t: Server;
  tm: Tmux;
  homes: Record<string, string>;
}

/** A spawned server, a tmux, and for each user a folder whose keys are published (scripted `register`). */
async function world(users: string[]): Promise<World> {
  const t = await Server.start();
  const tm = new Tmux(t.port);
  const homes: Record<string, string> = {};
  await Promise.all(users.map(async (u) => {
    homes[u] = await Deno.makeTempDir({ prefix: `parley-${u}-` });
    const r = await tm.cli(u, homes[u]!, "register");
    assert.equal(r.code, 0, r.err);
  }));
  return { t, tm, homes };
}

async function cleanup(w: World): Promise<void> {
  await w.tm.stop();
  await w.t.stop().catch(() => {});
  for (const h of [...Object.values(w.homes), w.t.dir]) {
    await Deno.remove(h, { recursive: true }).catch(() => {});
  }
}

/** Messages from others in one user's local history (the client folder's database, opened with the password). */
async function localRows(
  home: string,
  user: string,
  t: { cert: string },
): Promise<{ seq: number; mid: string; text: string }[]> {
  const store = new LocalStore(LocalStore.pathFor(home, user, await serverKey(t.cert)));
  try {
    // The keystore key comes from the password through the account's hashing record (account_kdf.ts).
    const meta = store.db.prepare("SELECT v FROM e2e_meta WHERE k = 'kdf'").get() as { v: Uint8Array };
    const kdf = checkAccountKdf(JSON.parse(new TextDecoder().decode(meta.v)));
    store.unlock((await accountSecrets(PASSWORD, kdf)).keystoreKey);
    return store.list(user, 0).filter((m) => m.from !== user).map((m) => ({
      seq: m.seq,
      mid: m.mid,
      text: m.text,
    }));
  } finally {
    store.close();
  }
}

const ERROR_LINE = /Could not read|replay rejected|another device|Not sent/;

test({
  name: "no loss: what arrived while away is on screen behind the separator, and `read` finds nothing new",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["alice", "bob"]);
    const { tm, homes } = w;
    try {
      const a = (...args: string[]) => tm.cli("alice", homes.alice!, ...args);
      assert.equal((await a("room", "create", "team", "bob")).code, 0);
      for (const n of [1, 2, 3]) assert.equal((await a("send", "bob", `dm number ${n}`)).code, 0);
      for (const n of [1, 2]) assert.equal((await a("send", "#team", `room line ${n}`)).code, 0);

      await tm.start("bob", "bob", homes.bob!);
      const status = await tm.waitFor(
        "bob",
        (s) => s.includes("5 new messages in 2 conversations while you were away"),
        "the while-you-were-away line",
      );
      assert.match(status, /alice\s+3/, "alice's buffer counts 3 unread");
      assert.match(status, /#team\s+2/, "the room's buffer counts 2 unread");
      await tm.type("bob", "/query alice");
      const dm = await tm.waitFor("bob", (s) => s.includes("dm number 3"), "the DMs in alice's buffer");
      assert.match(dm, /new messages[\s\S]*dm number 1[\s\S]*dm number 2[\s\S]*dm number 3/);
      await tm.type("bob", "/join #team");
      const room = await tm.waitFor("bob", (s) => s.includes("room line 2"), "the room lines");
      assert.match(room, /new messages[\s\S]*room line 1[\s\S]*room line 2/);
      assert.doesNotMatch(room, ERROR_LINE);
      await tm.type("bob", "/quit");
      await tm.gone("bob"); // the event: its client exited, what it read told before (not 600 ms)

      const r = await tm.cli("bob", homes.bob!, "read");
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, "", "nothing new after the screen showed it");
      assert.match(r.err, /No new messages/);

      // Started again: the same messages are history now (no separator, no "new" line).
      await tm.run("kill-session", "-t", "bob").catch(() => "");
      await tm.start("bob2", "bob", homes.bob!);
      await tm.waitFor("bob2", (s) => s.includes("Welcome to Parley"), "welcome");
      await tm.type("bob2", "/query alice");
      const again = await tm.waitFor("bob2", (s) => s.includes("dm number 3"), "history restored");
      assert.doesNotMatch(again, /while you were away|new messages/);
      assert.equal(again.split("dm number 3").length, 2, "shown once");
    } finally {
      await cleanup(w);
    }
  },
});

test({
  name: "no loss: a full-screen client and 20 scripted sends share one folder; bob gets all 40 in order",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["alice", "bob"]);
    const { tm, homes } = w;
    try {
      await tm.start("alice", "alice", homes.alice!, { cols: 100, rows: 60 });
      await tm.start("bob", "bob", homes.bob!, { cols: 100, rows: 60 });
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley"), "alice's welcome");
      await tm.waitFor("bob", (s) => s.includes("Welcome to Parley"), "bob's welcome");
      await tm.type("alice", "/query bob");
      const scripted = (async () => {
        for (let i = 1; i <= 20; i++) {
          const r = await tm.cli("alice", homes.alice!, "send", "bob", `scripted ${i}`);
          assert.equal(r.code, 0, r.err);
        }
      })();
      for (let i = 1; i <= 20; i++) {
        await tm.type("alice", `typed ${i}`);
        await new Promise((r) => setTimeout(r, 150));
      }
      await scripted;
      const aliceScreen = await tm.waitFor(
        "alice",
        (s) =>
          s.includes("scripted 20") && s.includes("typed 20") &&
          (s.match(/(typed|scripted) \d+/g) ?? []).length >= 40,
        "all 40 on alice's screen",
        90_000, // 20 scripted processes, each deriving its keys with argon2id: slow on a busy machine
      );
      assert.doesNotMatch(aliceScreen, ERROR_LINE);
      await tm.keys("bob", "M-2");
      const bobScreen = await tm.waitFor(
        "bob",
        (s) => (s.match(/(typed|scripted) \d+/g) ?? []).length >= 40,
        "all 40 on bob's screen",
        90_000,
      );
      assert.doesNotMatch(bobScreen, ERROR_LINE);
      for (const who of ["alice", "bob"]) {
        const st = await tm.screen(who);
        assert.doesNotMatch(st, ERROR_LINE, `${who}'s screen has an error line`);
      }
      const rows = await localRows(homes.bob!, "bob", w.t.p);
      const texts = rows.map((r) => r.text);
      assert.equal(new Set(texts).size, 40, `bob has 40 distinct messages, got ${texts.length}`);
      for (const kind of ["typed", "scripted"]) {
        const seq = texts.filter((x) => x.startsWith(kind)).map((x) => Number(x.split(" ")[1]));
        assert.deepEqual(seq, Array.from({ length: 20 }, (_, i) => i + 1), `${kind} lines in order`);
      }
      // The server's queue is empty for bob: everything was acknowledged after it was stored.
      await tm.type("bob", "/quit");
      await tm.gone("bob"); // its last acks sent before it exits
      const r = await tm.cli("bob", homes.bob!, "read");
      assert.equal(r.out, "");
    } finally {
      await cleanup(w);
    }
  },
});

test({
  name:
    "no loss: a full-screen client killed with kill -9 while receiving 200 messages, restarted → 200, none twice",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["bob"]);
    const { t, tm, homes } = w;
    try {
      homes.alice = await Deno.makeTempDir({ prefix: "parley-alice-" }); // cleanup removes it
      const alice = await t.e2eClient("alice", homes.alice);
      await tm.start("bob", "bob", homes.bob!);
      await tm.waitFor("bob", (s) => s.includes("Welcome to Parley"), "welcome");
      const sending = (async () => {
        for (let i = 1; i <= 200; i++) await alice.send({ kind: "user", name: "bob" }, `burst ${i}`);
      })();
      // Killed part-way: some stored, some acknowledged, some in flight.
      await tm.waitFor("bob", (s) => /2\.alice\s+\d{2}/.test(s), "a few dozen to arrive", 30_000);
      await tm.kill9("bob", homes.bob!);
      await sending;
      const before = (await localRows(homes.bob!, "bob", t.p)).length;
      assert.ok(before > 0 && before < 200, `killed part-way (${before} stored)`);
      await tm.run("kill-session", "-t", "bob").catch(() => "");
      await tm.start("bob2", "bob", homes.bob!);
      await tm.waitFor("bob2", (s) => /while you were away/.test(s), "the catch-up line", 30_000);
      await tm.type("bob2", "/query alice");
      const screen = await tm.waitFor("bob2", (s) => s.includes("burst 200"), "the last message");
      assert.equal(screen.split("burst 200").length, 2, "the last message is shown once");
      const rows = await localRows(homes.bob!, "bob", t.p);
      assert.equal(rows.length, 200);
      assert.equal(new Set(rows.map((r) => r.mid)).size, 200);
      assert.deepEqual(rows.map((r) => r.text), Array.from({ length: 200 }, (_, i) => `burst ${i + 1}`));
      await tm.type("bob2", "/quit");
      await tm.gone("bob2");
      const r = await tm.cli("bob", homes.bob!, "read");
      assert.equal(r.out, "", "nothing redelivered as new");
    } finally {
      await cleanup(w);
    }
  },
});

test({
  name: "no loss: lines typed while the server is down are kept, marked pending and sent once, in order",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["alice", "bob"]);
    const { tm, homes } = w;
    try {
      await tm.start("alice", "alice", homes.alice!);
      await tm.waitFor("alice", (s) => s.includes("Welcome to Parley"), "welcome");
      await tm.type("alice", "/query bob");
      await tm.type("alice", "before the outage");
      await tm.waitFor("alice", (s) => /alice\s+│ before the outage/.test(s), "the first line sent");
      await w.t.stop();
      await tm.waitFor(
        "alice",
        (s) => /Disconnected|Offline|offline|connecting/i.test(s),
        "the client to notice",
      );
      for (const n of [1, 2, 3]) await tm.type("alice", `typed offline ${n}`);
      const pending = await tm.waitFor("alice", (s) => s.includes("typed offline 3"), "the pending lines");
      assert.match(pending, /alice\s+⋯ typed offline 1/, "drawn as pending");
      await tm.type("alice", "/info");
      const info = await tm.waitFor("alice", (s) => /outbox\s+3 waiting/.test(s), "/info with the outbox");
      assert.match(info, /device\s+1/);
      assert.match(info, /connection\s+(reconnecting|offline)/);
      assert.match(info, /versions\s+parley \d+\.\d+\.\d+, protocol \d+/);
      await tm.type("alice", "/quit");
      const warned = await tm.waitFor(
        "alice",
        (s) => /3 messages are not sent yet/.test(s),
        "the /quit warning",
      );
      assert.match(warned, /\/quit again/);
      await w.t.restart();
      await tm.type("alice", "/reconnect");
      const after = await tm.waitFor(
        "alice",
        (s) => /alice\s+│ typed offline 3/.test(s) && !s.includes("⋯"),
        "the pending lines sent",
        30_000,
      );
      assert.doesNotMatch(after, ERROR_LINE);
      const r = await tm.cli("bob", homes.bob!, "read");
      assert.equal(r.code, 0, r.err);
      const got = r.out.split("\n").filter((l) => /typed offline|before the outage/.test(l));
      assert.equal(got.length, 4, r.out);
      assert.match(
        got.join("\n"),
        /before the outage[\s\S]*typed offline 1[\s\S]*typed offline 2[\s\S]*typed offline 3/,
      );
    } finally {
      await cleanup(w);
    }
  },
});

test({
  name: "live state: /grant from the console unlocks /kick at once; busy survives a reconnect",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["bob", "carol"]);
    const { tm, homes } = w;
    try {
      await tm.start("bob", "bob", homes.bob!);
      await tm.waitFor("bob", (s) => s.includes("Welcome to Parley"), "welcome");
      await tm.type("bob", "/kick carol");
      await tm.waitFor("bob", (s) => s.includes("/kick needs admin rights"), "the refusal");
      await w.t.console("/grant bob");
      // "At once": the role reaches bob before anything sent to him after the grant. The server logs
      // the grant just before it pushes the role; carol's line then goes to bob behind that push.
      const log = () => Deno.readTextFile(`${w.t.dir}/parley.log`);
      await eventually(async () => / INFO admin\.grant .*target=bob/.test(await log()), 10_000, "the grant");
      const sent = await tm.cli("carol", homes.carol!, "send", "bob", "after the grant");
      assert.equal(sent.code, 0, sent.err);
      const seen = await tm.waitFor(
        "bob",
        (s) => /2\.carol +1!/.test(s),
        "carol's line after the grant (her buffer, unread)",
      );
      assert.match(seen, /bob \(admin\)/, "the role on bob's status line before carol's later line");
      await tm.type("bob", "/kick nosuchuser");
      await tm.waitFor(
        "bob",
        (s) => /There is no user named nosuchuser/.test(s),
        "the server's answer (not a refusal)",
      );

      await tm.type("bob", "/busy");
      await tm.waitFor("bob", (s) => s.includes("You are now busy"), "the server confirmed busy");
      await w.t.stop();
      await w.t.restart();
      await tm.waitFor("bob", (s) => s.includes("Reconnected"), "the reconnect", 30_000);
      const who = await tm.cli("carol", homes.carol!, "who");
      assert.match(who.out, /^bob\s+busy/m, who.out);
    } finally {
      await cleanup(w);
    }
  },
});

test({
  name:
    "reconnect: a banned client says why and comes back by itself when the ban ends; notices go to status",
  ignore: skipWithoutTmux,
  fn: async () => {
    const w = await world(["bob", "carol"]);
    const { t, tm, homes } = w;
    try {
      await tm.start("bob", "bob", homes.bob!);
      await tm.waitFor("bob", (s) => s.includes("Welcome to Parley"), "welcome");
      await t.console("/kick bob 3 cool down");
      const banned = await tm.waitFor(
        "bob",
        (s) => /reconnects by itself when the ban ends/.test(s),
        "the ban notice",
      );
      assert.match(banned, /banned by console/);
      const back = await tm.waitFor(
        "bob",
        (s) => s.includes("Reconnected"),
        "the reconnect after the ban",
        15_000,
      );
      assert.match(back, /│ bob │ online/);
      // A plain network loss is said in the status buffer only.
      await tm.type("bob", "/query carol");
      const logins = async () =>
        (await Deno.readTextFile(`${t.dir}/parley.log`)).split("\n").filter((l) =>
          / INFO login user=bob /.test(l)
        )
          .length;
      const before = await logins();
      await tm.type("bob", "/reconnect");
      await tm.waitFor("bob", (s) => /Reconnecting…/.test(s), "the /reconnect answer");
      // Fence: bob's new session logged in; carol's line then reaches him after its answer, which
      // is when the client says "Reconnected".
      await eventually(async () => (await logins()) > before, 15_000, "bob's new session");
      const sent = await tm.cli("carol", homes.carol!, "send", "bob", "after the reconnect");
      assert.equal(sent.code, 0, sent.err);
      const current = await tm.waitFor("bob", (s) => s.includes("after the reconnect"), "carol's line");
      assert.doesNotMatch(current, /Reconnected|Disconnected/, "not in the current buffer");
      await tm.keys("bob", "M-1");
      await tm.waitFor(
        "bob",
        (s) => (s.match(/Reconnected/g) ?? []).length >= 2,
        "both reconnects in status",
      );
    } finally {
      await cleanup(w);
    }
  },
});

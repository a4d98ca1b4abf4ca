/**
 * Upgrade safety (issue 38.6): today's server on a data folder written by 0.1.0 (commit 8f7a942), and
 * today's client on client folders written by 0.1.0's client (tests/testdata/v010, made by make.sh
 * there; README.md beside it). Every account and direct message is still readable: messages read
 * before the upgrade from the client's history, the ones left unread from the server. A room made
 * by 0.1.0 has no signed membership log, which today's clients require (issue 10): its admin's client
 * adopts it (e2e/room_log.ts), and its unread messages are read once it has.
 */
import assert from "node:assert/strict";
import { runProgram, spawnServerProcess } from "./helpers.ts";

const FIXTURE = decodeURIComponent(new URL("./testdata/v010", import.meta.url).pathname);

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

type Cli = (user: string, ...args: string[]) => Promise<{ code: number; out: string; err: string }>;

/**
 * The fixture copied to a temp folder, today's server.ts on it, and today's client.ts for its users
 * (`first` log in at once, in that order; `login` logs in one later).
 */
async function withUpgraded(
  fn: (cli: Cli, login: (user: string) => Promise<void>) => Promise<void>,
  first = ["alice", "bob"],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-upgrade-" });
  await copyTree(FIXTURE, dir);
  const srv = await spawnServerProcess(`${dir}/server`);
  // A port other than the fixture's (39797): the folders are found by the certificate, not the address,
  // and the certificate is the one 0.1.0 made and pinned (known_servers.json).
  const fp = JSON.parse(await Deno.readTextFile(`${dir}/bob/known_servers.json`))["127.0.0.1:39797"]
    .fingerprint as string;
  const cli: Cli = async (user, ...args) => {
    const r = await runProgram(
      "client.ts",
      [...args, "--server", `127.0.0.1:${srv.port}`, "--user", user, "--home", `${dir}/${user}`],
      { PARLEY_PASSWORD: `pw-${user}-secret` },
    );
    return { code: r.code, out: r.out.trim(), err: r.err.trim() };
  };
  const login = async (u: string) => {
    const r = await cli(u, "login", "--fingerprint", fp);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^Logged in as ${u} on `));
  };
  try {
    for (const u of first) await login(u);
    await fn(cli, login);
  } finally {
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("upgrade from 0.1.0: accounts, direct messages (read and unread) and room lists survive", async () => {
  await withUpgraded(async (cli) => {
    // Unread on the server when 0.1.0 stopped.
    let r = await cli("bob", "read", "--from", "alice");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /alice -> bob: unread dm for bob$/m, r.out + r.err);
    // Read under 0.1.0: from bob's own history (his 0.1.0 database, adopted under the certificate's name).
    r = await cli("bob", "read", "--from", "alice", "--since", "2020-01-01T00:00:00Z");
    assert.match(r.out, /alice -> bob: hello bob, from 0\.1\.0$/m, r.out + r.err);
    r = await cli("alice", "read", "--from", "bob");
    assert.match(r.out, /bob -> alice: hi alice, bob here$/m, r.out + r.err);
    r = await cli("alice", "room", "list");
    assert.equal(r.out, "#dev: @alice bob", r.err);
    // The 0.1.0 sessions go on both ways.
    r = await cli("alice", "send", "bob", "after the upgrade");
    assert.equal(r.code, 0, r.err);
    r = await cli("bob", "read", "--from", "alice");
    assert.match(r.out, /alice -> bob: after the upgrade$/m, r.out + r.err);
    // The upgrade note's way for rooms: a new room (signed membership log) works at once.
    r = await cli("alice", "room", "create", "dev2", "bob", "--new");
    assert.equal(r.code, 0, r.err);
    r = await cli("alice", "send", "#dev2", "new room after the upgrade");
    assert.equal(r.code, 0, r.err);
    r = await cli("bob", "read", "--room", "dev2");
    assert.match(r.out, /alice -> #dev2: new room after the upgrade$/m, r.out + r.err);
  });
});

// A 0.1.0 room has no signed membership log, which today's clients require. Its admin's client
// adopts it at its first login (signs a genesis entry of the members the server lists, hands out a
// fresh sender key); the other members verify that entry as they verify a new room's genesis.
Deno.test("upgrade from 0.1.0: a 0.1.0 room keeps its messages and keeps working", async () => {
  await withUpgraded(async (cli) => {
    let r = await cli("bob", "read", "--room", "dev");
    assert.match(r.out, /alice -> #dev: room news from 0\.1\.0$/m, r.out + r.err);
    assert.doesNotMatch(r.err, /refused|Could not read/, r.err);
    r = await cli("bob", "send", "#dev", "room still works");
    assert.equal(r.code, 0, r.err);
    r = await cli("alice", "read", "--room", "dev");
    assert.match(r.out, /bob -> #dev: room still works$/m, r.out + r.err);
    r = await cli("alice", "send", "#dev", "and alice's new key");
    assert.equal(r.code, 0, r.err);
    r = await cli("bob", "read", "--room", "dev");
    assert.match(r.out, /alice -> #dev: and alice's new key$/m, r.out + r.err);
  });
});

Deno.test("upgrade from 0.1.0: a member who upgrades before the room's admin keeps its key and message", async () => {
  await withUpgraded(async (cli, login) => {
    // No log yet (alice, the admin, has not run 0.2.0): the 0.1.0 room key is kept, the message stays unread.
    let r = await cli("bob", "read", "--room", "dev");
    assert.doesNotMatch(r.out, /room news/, r.out);
    assert.match(
      r.err,
      /room key from alice for #dev is kept until an admin of #dev signs its membership log/,
    );
    assert.match(r.err, /^parley: Could not read message \d+ from alice: .*stays on the server.*$/m, r.err);
    r = await cli("bob", "send", "#dev", "too early");
    assert.notEqual(r.code, 0);
    assert.match(r.err, /#dev has no membership log/);
    // Bob, no admin of #dev, cannot sign its log (tests/e2e_room_log_test.ts): alice's first 0.2.0 run does.
    await login("alice"); // alice's client adopts #dev
    r = await cli("bob", "read", "--room", "dev");
    assert.match(r.out, /alice -> #dev: room news from 0\.1\.0$/m, r.out + r.err);
    r = await cli("bob", "send", "#dev", "room still works");
    assert.equal(r.code, 0, r.err);
    r = await cli("alice", "read", "--room", "dev");
    assert.match(r.out, /bob -> #dev: room still works$/m, r.out + r.err);
  }, ["bob"]);
});

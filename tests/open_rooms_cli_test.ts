/**
 * Open rooms in the scripted client (issue 71.12): `room create --open --description`, `room list
 * --open` by a non-member, `room join`, `room close`, and their refusals (a closed room, one already
 * joined, a long description — a usage error, status 2 —, a non-admin), each a message on stderr, status 1.
 */
import assert from "node:assert/strict";
import { runProgram, startTestServer } from "./helpers.ts";
import { PASSWORD } from "./tmux.ts";
import { test } from "./deadline.ts";

test("scripted open rooms: create --open, list --open, join, close and the refusals", async () => {
  const t = await startTestServer();
  const homes: Record<string, string> = {};
  try {
    for (const u of ["alice", "bob", "carol"]) {
      homes[u] = await Deno.makeTempDir();
      (await t.client(u, { password: PASSWORD, kdf: {} })).close();
    }
    const cli = async (u: string, ...args: string[]) => {
      const r = await runProgram("client.ts", [...args, "--user", u, "--trust-on-first-use"], {
        PARLEY_SERVER: `127.0.0.1:${t.port}`,
        PARLEY_HOME: homes[u]!,
        PARLEY_PASSWORD: PASSWORD,
      });
      return { code: r.code, out: r.out.trimEnd(), err: r.err.trimEnd() };
    };
    const made = await cli("alice", "room", "create", "--open", "--description", "Say hello", "lobby");
    assert.deepEqual(
      [made.code, made.out],
      [
        0,
        "Created #lobby with alice\nOpened #lobby: anyone on this server may join it (public description: Say hello)",
      ],
      made.err,
    );
    const listed = await cli("bob", "room", "list", "--open");
    assert.deepEqual([listed.code, listed.out], [0, "#lobby (1 member): Say hello"]);
    const json = JSON.parse((await cli("bob", "room", "list", "--open", "--json")).out);
    assert.deepEqual(json, [{ name: "lobby", members: 1, description: "Say hello", member: false }]);
    const joined = await cli("bob", "room", "join", "#lobby");
    assert.deepEqual([joined.code, joined.out], [0, "Joined #lobby with alice, bob"], joined.err);
    const twice = await cli("bob", "room", "join", "lobby");
    assert.deepEqual([twice.code, twice.err], [1, "parley: You are already in #lobby"]);
    const notAdmin = await cli("bob", "room", "close", "lobby");
    assert.deepEqual([notAdmin.code, notAdmin.err], [
      1,
      "parley: Only admins of #lobby can open or close it or describe it",
    ]);
    const long = await cli("alice", "room", "open", "lobby", "--description", "x".repeat(201));
    assert.equal(long.code, 2, "a usage error");
    assert.match(long.err, /A room description is at most 200 characters \(it is public, not encrypted\)/);
    const closed = await cli("alice", "room", "close", "lobby");
    assert.deepEqual([closed.code, closed.out], [0, "Closed #lobby: members stay; nobody joins by themself"]);
    const refused = await cli("carol", "room", "join", "lobby");
    assert.deepEqual(
      [refused.code, refused.err],
      [1, "parley: #lobby is not open: ask one of its members to invite you"],
    );
    const none = await cli("carol", "room", "list", "--open");
    assert.deepEqual([none.code, none.out, none.err], [0, "", "No open rooms on this server"]);
    const nowhere = await cli("carol", "room", "join", "nowhere");
    assert.deepEqual([nowhere.code, nowhere.err], [1, "parley: There is no room named #nowhere"]);
    assert.match((await cli("bob", "room", "list")).out, /^#lobby: @alice bob$/);
    assert.equal((await cli("alice", "room", "open", "lobby")).code, 0);
    assert.equal((await cli("bob", "room", "list", "--open")).out, "#lobby (2 members, joined): Say hello");
  } finally {
    await t.stop();
    for (const h of Object.values(homes)) await Deno.remove(h, { recursive: true }).catch(() => {});
  }
});

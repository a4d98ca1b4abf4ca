/**
 * Open rooms end to end (issue 71.12), a real server and real clients: alice creates an open room
 * with a public description; bob, not a member, lists it and joins it by himself; he reads what is
 * sent after his join, not before; alice closes it and carol's join is refused by the server. The
 * server is not trusted on it: a server that says "open" of a room whose log says closed gets no
 * join signed, and a join it adds to a closed room makes the members' clients refuse the room. Bad
 * input (no such room, already in, a long description, a non-admin) is refused with a clear error.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { loadIdentity } from "../lib/crypto/keystore.ts";
import { type LogState, signEntry, verifyLog } from "../lib/crypto/membership_log.ts";
import { eventually, inbox, startTestServer } from "./helpers.ts";

type T = Awaited<ReturnType<typeof startTestServer>>;

const logRows = (t: T) => {
  const d = new DatabaseSync(`${t.dir}/parley.db`);
  try {
    return (d.prepare("SELECT entry FROM room_log WHERE room = 'lobby' ORDER BY epoch").all() as {
      entry: string;
    }[])
      .map((r) => JSON.parse(r.entry));
  } finally {
    d.close();
  }
};

Deno.test("open rooms: listed to non-members, joined by oneself, read from the join on, closed again", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    const c = await t.e2eClient("carol");
    const [ai, bi] = [inbox(a.client), inbox(b.client)];
    for (const x of [a, b, c]) await x.client.sync();
    await a.client.commands.createRoom("lobby", []);
    const opened = await a.client.commands.setRoomPublic("lobby", { open: true, description: "Say hello" });
    assert.deepEqual(opened, { open: true, description: "Say hello" });
    await a.client.send({ kind: "room", name: "lobby" }, "before bob joined");

    // bob is no member: he sees the room, its member count and its public description, not its members
    assert.deepEqual(await b.client.commands.openRooms(), [{
      name: "lobby",
      members: 1,
      description: "Say hello",
      member: false,
    }]);
    const joinedAt = await t.srv.core.store.lastSeq();
    const joined = await b.client.commands.joinRoom("lobby");
    assert.deepEqual(joined.members.sort(), ["alice", "bob"]);
    assert.equal(logRows(t).at(-1).action, "join", "the join is an entry of the room's log, signed by bob");
    await assert.rejects(() => b.client.commands.joinRoom("lobby"), /already in #lobby/);
    await eventually(
      () => ai.notices.some((n) => n.includes("bob joined #lobby by themself")),
      5000,
      "alice told",
    );
    assert.ok(ai.notices.some((n) => /bob joined #lobby.*verified/.test(n)), ai.notices.join("\n"));

    await a.client.send({ kind: "room", name: "lobby" }, "after bob joined");
    await eventually(
      () => bi.msgs.some((m) => m.text === "after bob joined"),
      5000,
      "bob reads after his join",
    );
    await b.client.send({ kind: "room", name: "lobby" }, "hello from bob");
    await eventually(() => ai.msgs.some((m) => m.text === "hello from bob"), 5000, "alice reads bob");
    // nothing from before his join: not delivered, not in his history
    const page = await b.client.history({ kind: "room", name: "lobby" }, 0);
    const texts = [...bi.msgs, ...page].map((m) => m.text);
    assert.ok(!texts.includes("before bob joined"), texts.join(" | "));
    // not even as a message bob cannot read: the server delivers the room to him from his join on
    await b.client.sync();
    assert.ok(!bi.notices.some((n) => /could not read/i.test(n)), bi.notices.join("\n"));
    // and with the stored ciphertext of what alice sent before his join in hand, bob's keys open none of it
    const rows = await t.srv.core.store.history("r:lobby", 0, 0, 100);
    const early = rows.filter((r) => r.sender === "alice" && r.seq <= joinedAt);
    assert.ok(early.length >= 1, "alice's message before the join is stored");
    for (const row of early) {
      const msg = {
        seq: 10_000 + row.seq,
        mid: row.mid,
        ts: row.ts,
        from: row.sender,
        to: { kind: "room" as const, name: "lobby" },
        text: "",
      };
      await assert.rejects(() => b.codec.receive(msg, "r:lobby", row.body), (e: Error) => {
        assert.doesNotMatch(e.message, /before bob joined/);
        return true;
      });
    }

    // the room's admin closes it: the server refuses carol, bob stays and reads on
    assert.deepEqual(await a.client.commands.setRoomPublic("lobby", { open: false }), {
      open: false,
      description: "Say hello",
    });
    assert.deepEqual(await c.client.commands.openRooms(), []);
    await assert.rejects(() => c.client.commands.joinRoom("lobby"), (e: Error & { code?: string }) => {
      assert.equal(e.code, "room_closed");
      assert.match(e.message, /#lobby is not open: ask one of its members to invite you/);
      return true;
    });
    await a.client.send({ kind: "room", name: "lobby" }, "after closing");
    await eventually(() => bi.msgs.some((m) => m.text === "after closing"), 5000, "bob still reads");
  } finally {
    await t.stop();
  }
});

Deno.test("open rooms: the server is not trusted on who may join", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const c = await t.e2eClient("carol");
    for (const x of [a, c]) await x.client.sync();
    await a.client.commands.createRoom("lobby", []);
    await a.client.commands.setRoomPublic("lobby", { open: true });
    await a.client.commands.setRoomPublic("lobby", { open: false });
    const before = logRows(t).length;
    // The server says "open" of a room whose signed log says closed: carol's client signs no join.
    await t.srv.core.store.setRoomPublic("lobby", { open: true });
    await assert.rejects(() => c.client.commands.joinRoom("lobby"), /not open by its signed membership log/);
    assert.equal(logRows(t).length, before, "nothing was appended");
    // A join the server appends to the closed room anyway (signed by a user it controls): the room's
    // members refuse it, and alice's client sends nothing to the room.
    const log = logRows(t);
    const signKeyOf = async (u: string) => (await loadIdentity((u === "alice" ? a : c).codec.cs)).sign.pub;
    const v = await verifyLog("lobby", log, signKeyOf, Date.now());
    assert.ok(v.ok);
    const forged = await signEntry(await loadIdentity(c.codec.cs), (v as { state: LogState }).state, {
      room: "lobby",
      action: "join",
      target: "carol",
      by: "carol",
      at: Date.now(),
    });
    assert.equal(await t.srv.core.store.appendRoomLog("lobby", forged.epoch, JSON.stringify(forged)), true);
    await t.srv.core.store.addMember("lobby", { user: "carol", sinceSeq: 0, admin: false });
    await a.client.close(); // one client of a folder at a time in this process (e2e_room_log_test.ts says why)
    const a2 = await t.e2eClient("alice", { register: false });
    await assert.rejects(
      () => a2.client.send({ kind: "room", name: "lobby" }, "secret"),
      /self-join while #lobby is not open/,
    );
    await a2.client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("open rooms: bad input is refused with a clear error, nothing changed", async () => {
  const t = await startTestServer();
  try {
    const a = await t.e2eClient("alice");
    const b = await t.e2eClient("bob");
    for (const x of [a, b]) await x.client.sync();
    await a.client.commands.createRoom("lobby", ["bob"]);
    await assert.rejects(() => b.client.commands.joinRoom("nowhere"), /There is no room named #nowhere/);
    await assert.rejects(() => b.client.commands.joinRoom("lobby"), /already in #lobby/);
    // bob is a member, not an admin: he may neither open, nor describe, nor close it
    await assert.rejects(
      () => b.client.commands.setRoomPublic("lobby", { open: true }),
      /Only admins of #lobby/,
    );
    await assert.rejects(
      () => b.client.commands.setRoomPublic("lobby", { description: "mine" }),
      /Only admins of #lobby/,
    );
    await a.client.commands.setRoomPublic("lobby", { open: true, description: "kept" });
    await assert.rejects(
      () => b.client.commands.setRoomPublic("lobby", { open: false }),
      /Only admins of #lobby/,
    );
    // a description past 200 characters, or with control characters, is refused by the server
    for (const description of ["x".repeat(201), "bell\x07", "right-to-left \u202e"]) {
      await assert.rejects(
        () => a.client.conn.request("room.public", { room: "lobby", description }),
        /longer than 200|may not contain control/,
      );
    }
    await assert.rejects(() => a.client.commands.setRoomPublic("lobby", { open: true }), /already open/);
    const r = await t.srv.core.store.getRoom("lobby");
    assert.deepEqual([r?.open, r?.description, r?.members.length], [true, "kept", 2], "nothing lost");
    // a room nobody made is not opened
    await assert.rejects(
      () => a.client.commands.setRoomPublic("nowhere", { open: true }),
      /no room named #nowhere|not a member/,
    );
  } finally {
    await t.stop();
  }
});

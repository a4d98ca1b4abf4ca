/**
 * A malicious server cannot decide room membership (issue 10 item 1): with the server's SQLite
 * database edited directly — a ghost member row, a replayed, an unsigned or a non-admin log
 * entry — the sender's client refuses to send (an error naming the problem), no sender key goes
 * to the ghost, and the ghost reads nothing. A room key from someone outside the log is refused.
 * A room made without a log (0.1.0) gets one only from its admin's client.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { randomId } from "../lib/common/random.ts";
import { encodePayload } from "../lib/client/e2e/keys.ts";
import type { PrekeyBundle } from "../lib/crypto/prekeys.ts";
import { loadIdentity } from "../lib/crypto/keystore.ts";
import { signEntry } from "../lib/crypto/membership_log.ts";
import { eventually, inbox, startTestServer } from "./helpers.ts";
import type { StoredMessage } from "../lib/server/store/store.ts";

type T = Awaited<ReturnType<typeof startTestServer>>;

function db(t: T): DatabaseSync {
  return new DatabaseSync(`${t.dir}/parley.db`);
}

function count(t: T, sql: string, ...args: string[]): number {
  const d = db(t);
  try {
    return Number((d.prepare(sql).get(...args) as { n: number }).n);
  } finally {
    d.close();
  }
}

async function room(t: T) {
  const a = await t.e2eClient("alice");
  const b = await t.e2eClient("bob");
  const m = await t.e2eClient("mallory");
  const [bi, mi] = [inbox(b.client), inbox(m.client)];
  for (const x of [a, b, m]) await x.client.sync();
  await a.client.commands.createRoom("team", ["bob"]);
  await a.client.send({ kind: "room", name: "team" }, "first");
  await eventually(() => bi.msgs.some((x) => x.text === "first"), 5000, "bob reads");
  return { a, b, m, bi, mi };
}

/** The stored messages (the server's message log) that pass `keep`. */
const stored = async (t: T, keep: (m: StoredMessage) => boolean) =>
  (await t.srv.core.store.since(0, 100_000)).filter(keep).length;
const dmsTo = (t: T, user: string) => stored(t, (m) => m.kind === "user" && m.target === user);
const roomMsgs = (t: T) => stored(t, (m) => m.conv === "r:team");

Deno.test("room log: (a) a member row inserted into the server's database → nothing is sent, the ghost gets no key", async () => {
  const t = await startTestServer();
  try {
    const { a, b, m, mi } = await room(t);
    const d = db(t);
    d.prepare("INSERT INTO room_members (room, user, since_seq, admin) VALUES ('team', 'mallory', 0, 0)")
      .run();
    d.close();
    const [dms, msgs] = [await dmsTo(t, "mallory"), await roomMsgs(t)];
    // a fresh session of alice reads the room list from the server: it disagrees with the log
    const a2 = await t.e2eClient("alice", { register: false });
    await assert.rejects(
      () => a2.client.send({ kind: "room", name: "team" }, "secret after the ghost"),
      /Not sent: the server lists #team's members as alice, bob, mallory, but its signed membership log says alice, bob/,
    );
    // Two clients on one folder in one process: a2 would take the push below under the folder's lock
    // across a request to the server in this same process, while a's write waits for that lock
    // synchronously (SQLite's busy timeout blocks the event loop): "database is locked" after 10 s.
    await a2.client.close();
    // and a room push carrying the ghost (the server announcing it) makes the old session refuse too
    t.srv.core.hub.toUsers(new Set(["alice"]), {
      t: "room",
      room: "team",
      members: ["alice", "bob", "mallory"],
      admins: ["alice"],
      change: "joined",
      by: "alice",
      user: "mallory",
    });
    const ai = inbox(a.client);
    await eventually(
      () => ai.notices.some((n) => n.includes("signed membership log says")),
      5000,
      "error notice",
    );
    await assert.rejects(() => a.client.send({ kind: "room", name: "team" }, "second secret"), /Not sent/);
    assert.equal(await dmsTo(t, "mallory"), dms, "no sender key was sent to the ghost");
    assert.equal(await roomMsgs(t), msgs, "no room message was stored");
    assert.equal(await m.codec.rooms.knows("team", "alice"), false);
    // even with every stored room ciphertext in hand, the ghost decrypts nothing
    for (const row of await t.srv.core.store.history("r:team", 0, 0, 100)) {
      const msg = {
        seq: 10_000 + row.seq,
        mid: row.mid,
        ts: row.ts,
        from: row.sender,
        to: { kind: "room" as const, name: "team" },
        text: "",
      };
      await assert.rejects(() => m.codec.receive(msg, "r:team", row.body), /No sender key/);
    }
    assert.equal(mi.msgs.some((x) => x.text.includes("secret") || x.text === "first"), false);
    // leaving stays possible in a room whose log no longer matches
    await b.client.commands.leave("team");
  } finally {
    await t.stop();
  }
});

Deno.test("room log: (b) replayed, (c) unsigned, (d) non-admin entries put in the server's log → nothing is sent", async () => {
  const t = await startTestServer();
  try {
    const { a, b, bi } = await room(t);
    const d = db(t);
    const log = (d.prepare("SELECT entry FROM room_log WHERE room = 'team' ORDER BY epoch").all() as {
      entry: string;
    }[]).map((r) => JSON.parse(r.entry));
    assert.equal(log.length, 1);
    // a legitimate add of carol (epoch 1), then each forged epoch 2 adding mallory
    await t.e2eClient("carol");
    // the server appends only the next epoch (it checks shape and order, never signatures)
    await assert.rejects(
      () => a.client.conn.request("room.invite", { room: "team", user: "carol", log: log[0] }),
      /not the next one/,
    );
    await a.client.commands.invite("team", "carol");
    const e1 = JSON.parse(
      (d.prepare("SELECT entry FROM room_log WHERE room = 'team' AND epoch = 1").get() as { entry: string })
        .entry,
    );
    // a change replayed in a room push (an older entry than the log's latest) is flagged, not shown as valid
    await b.codec.onPush({
      t: "room",
      room: "team",
      members: ["alice", "bob", "carol"],
      admins: ["alice"],
      change: "joined",
      by: "alice",
      user: "carol",
      entry: log[0],
    });
    assert.ok(
      bi.notices.includes("alice added carol to #team (not in #team's signed membership log: ignored)"),
      bi.notices.join("\n"),
    );
    const byBob = await b.codec.keys!.logEntry!("team", "join", "mallory"); // bob is no admin
    const { sig: _s, signer: _k, ...unsigned } = { ...e1, epoch: 2, target: "mallory" };
    const forged: [string, unknown, RegExp][] = [
      ["replayed", { ...e1, epoch: 2 }, /does not follow|out of order/],
      ["replayed same epoch", e1, /out of order/],
      ["unsigned", unsigned, /malformed/],
      ["non-admin", byBob, /not an admin/],
    ];
    const before = await roomMsgs(t);
    for (const [what, entry, why] of forged) {
      const epoch = (entry as { epoch: number }).epoch;
      d.prepare("INSERT OR REPLACE INTO room_log (room, epoch, entry) VALUES ('team', ?, ?)").run(
        epoch + (epoch === 1 ? 1 : 0),
        JSON.stringify(entry),
      );
      d.prepare(
        "INSERT OR IGNORE INTO room_members (room, user, since_seq, admin) VALUES ('team', 'mallory', 0, 0)",
      )
        .run();
      const a2 = await t.e2eClient("alice", { register: false });
      await assert.rejects(() => a2.client.send({ kind: "room", name: "team" }, `secret ${what}`), why, what);
      d.prepare("DELETE FROM room_log WHERE room = 'team' AND epoch = 2").run();
      await a2.client.close();
    }
    d.close();
    assert.equal(await roomMsgs(t), before);
    assert.equal(await dmsTo(t, "mallory"), 0);
  } finally {
    await t.stop();
  }
});

Deno.test("room log: a room key from someone outside the log is refused", async () => {
  const t = await startTestServer();
  try {
    const { b, m, bi } = await room(t);
    const plan = await m.codec.rooms.planSend("team", ["bob"]);
    const bundle = (await m.client.conn.request("keys.fetch", { user: "bob" })).header.bundle as PrekeyBundle;
    const mid = randomId(undefined, 12);
    const body = await m.codec.dm.encryptDm(
      "bob",
      bundle,
      encodePayload({ v: 1, k: "skd", mid, dist: plan.dist }),
    );
    await m.client.conn.request("send", { to: { kind: "user", name: "bob" }, mid }, body);
    await eventually(() => bi.notices.some((n) => n.includes("was refused")), 5000, "refusal");
    assert.equal(await b.codec.rooms.knows("team", "mallory"), false);
    await b.client.sync(); // consumed once: not retried, not shown again
    assert.equal(bi.notices.filter((n) => n.includes("was refused")).length, 1, bi.notices.join("\n"));
    assert.equal(await b.codec.rooms.knows("team", "mallory"), false);
  } finally {
    await t.stop();
  }
});

Deno.test("room log: a room without a log (made by 0.1.0) is adopted by its admin's client only; members verify it", async () => {
  const t = await startTestServer();
  try {
    await (await t.e2eClient("alice")).client.close(); // alice's keys are published; she is offline
    const b = await t.e2eClient("bob");
    const m = await t.e2eClient("mallory");
    const bi = inbox(b.client);
    for (const x of [b, m]) await x.client.sync();
    // As 0.1.0 made rooms: no log entry (a client without end-to-end keys signs nothing).
    // Written straight into the store: a session of alice's that proves no device may not create
    // rooms any more (her account has device keys), and a 0.1.0 client left exactly these rows.
    const since = await t.srv.core.store.lastSeq();
    await t.srv.core.store.createRoom({
      name: "old",
      createdBy: "alice",
      createdAt: Date.now(),
      members: ["alice", "bob", "mallory"].map((user) => ({
        user,
        sinceSeq: since,
        admin: user === "alice",
      })),
    });
    const logRows = () => count(t, "SELECT COUNT(*) AS n FROM room_log WHERE room = 'old'");
    assert.equal(logRows(), 0);
    // A member who is no admin cannot give it a log (the server refuses), nor send in it.
    const forged = await signEntry(await loadIdentity(m.codec.cs), null, {
      room: "old",
      action: "create",
      target: "alice,bob,mallory",
      by: "mallory",
      at: Date.now(),
    });
    await assert.rejects(
      () => m.client.conn.request("room.adopt", { room: "old", log: forged }),
      /Only admins of #old can sign its first log entry/,
    );
    await assert.rejects(
      () => b.client.send({ kind: "room", name: "old" }, "x"),
      /#old has no membership log/,
    );
    assert.equal(logRows(), 0);
    // Its admin's client signs the genesis when it uses the room; the members verify it and read.
    const a = await t.e2eClient("alice", { register: false });
    await a.client.sync();
    // Not even its admin can give it a genesis that leaves out a member the server lists (or signed by another).
    const partial = await signEntry(await loadIdentity(a.codec.cs), null, {
      room: "old",
      action: "create",
      target: "alice,bob",
      by: "alice",
      at: Date.now(),
    });
    for (const log of [partial, forged]) {
      await assert.rejects(
        () => a.client.conn.request("room.adopt", { room: "old", log }),
        /must be signed by you and list its members now/,
      );
    }
    assert.equal(logRows(), 0);
    await a.client.send({ kind: "room", name: "old" }, "adopted");
    await eventually(() => bi.msgs.some((x) => x.text === "adopted"), 5000, "bob reads");
    assert.equal(logRows(), 1);
    await eventually(
      () =>
        bi.notices.some((n) =>
          n.includes("alice signed #old's membership log") && n.endsWith("alice, bob, mallory")
        ),
      5000,
      "bob is told",
    );
    await b.client.send({ kind: "room", name: "old" }, "bob too");
    // Only once: a second genesis, even a well-formed one of its admin, is refused by the server.
    const again = await signEntry(await loadIdentity(a.codec.cs), null, {
      room: "old",
      action: "create",
      target: "alice,bob,mallory",
      by: "alice",
      at: Date.now(),
    });
    await assert.rejects(
      () => a.client.conn.request("room.adopt", { room: "old", log: again }),
      /not the next one/,
    );
    assert.equal(logRows(), 1);
  } finally {
    await t.stop();
  }
});

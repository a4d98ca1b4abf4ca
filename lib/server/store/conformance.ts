/**
 * Shared conformance suite for `Store`: every implementation registers it with a factory that
 * returns a fresh, empty store, e.g. `storeConformance("SqliteStore", () => new SqliteStore(":memory:"))`;
 * `ignore` skips it where the engine is missing (tests/postgres_store_test.ts).
 */
import assert from "node:assert/strict";
import type { NewMessage, Store } from "./store.ts";

const msg = (p: Partial<NewMessage> & { mid: string; sender: string }): NewMessage => ({
  kind: "user",
  target: "bob",
  conv: "d:alice:bob",
  ts: 1000,
  body: new Uint8Array([1, 2, 3]),
  ...p,
});

/** Registers one case, run on a fresh store that is closed after it. */
type Case = (what: string, fn: (s: Store) => Promise<void>) => void;

/** Registers the suite for one implementation (`name`), whose fresh stores `make` opens. */
export function storeConformance(
  name: string,
  make: () => Promise<Store> | Store,
  o: { ignore?: boolean } = {},
): void {
  const t: Case = (what, fn) =>
    Deno.test({ name: `${name} ${what}`, ignore: o.ignore ?? false }, async () => {
      const s = await make();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });
  accountCases(t);
  appendCases(t);
  readCases(t);
  deviceQueueCases(t);
  membershipQueueCases(t);
  deviceCases(t);
  historyCases(t);
  pagingCases(t);
  roomCases(t);
  tokenCases(t);
}

/** Accounts: users, credentials, login state and sources. */
function accountCases(t: Case): void {
  t("createUser() is unique per name and getUser() returns the row", async (s) => {
    assert.equal(await s.createUser({ name: "alice", hash: "h", role: "user", createdAt: 5 }), true);
    assert.equal(await s.createUser({ name: "alice", hash: "h2", role: "user", createdAt: 6 }), false);
    const u = await s.getUser("alice");
    assert.equal(u?.hash, "h");
    assert.equal(u?.failed, 0);
    assert.equal(await s.getUser("nobody"), null);
  });

  t(
    "createUser() keeps a kdf, setCredential() replaces hash and kdf, serverSecret() is stable",
    async (s) => {
      await s.createUser({ name: "old", hash: "h", role: "user", createdAt: 1 });
      await s.createUser({ name: "new", hash: "h", role: "user", createdAt: 1, kdf: "{}" });
      assert.deepEqual([(await s.getUser("old"))?.kdf, (await s.getUser("new"))?.kdf], [null, "{}"]);
      await s.setCredential("old", "h2", '{"salt":"00"}');
      const u = await s.getUser("old");
      assert.deepEqual([u?.hash, u?.kdf], ["h2", '{"salt":"00"}']);
      const secret = await s.serverSecret();
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.equal(await s.serverSecret(), secret);
    },
  );

  t("certKey() is null until setCertKey() records one, which replaces the last", async (s) => {
    assert.equal(await s.certKey(), null);
    await s.setCertKey("SHA256:AA");
    await s.setCertKey("SHA256:BB");
    assert.equal(await s.certKey(), "SHA256:BB");
  });

  t("setLoginState(), setRole() and countAdmins() persist", async (s) => {
    await s.createUser({ name: "a", hash: "h", role: "user", createdAt: 1 });
    await s.setLoginState("a", { failed: 3, lockedUntil: 99, lockouts: 1 });
    await s.setRole("a", "admin");
    const u = await s.getUser("a");
    assert.deepEqual([u?.failed, u?.lockedUntil, u?.lockouts, u?.role], [3, 99, 1, "admin"]);
    assert.equal(await s.countAdmins(), 1);
    assert.equal((await s.listUsers()).length, 1);
  });

  t("loginSource(): per (account, network), replaced, forgotten, pruned by age or all", async (s) => {
    await s.createUser({ name: "a", hash: "h", role: "user", createdAt: 1 });
    assert.equal(await s.loginSource("a", "192.0.2.0/24"), null);
    await s.setLoginSource("a", "192.0.2.0/24", { failed: 2, failedAt: 100, lockedUntil: 0, lockouts: 0 });
    await s.setLoginSource("a", "192.0.2.0/24", { failed: 0, failedAt: 200, lockedUntil: 900, lockouts: 1 });
    await s.setLoginSource("a", "198.51.100.0/24", { failed: 1, failedAt: 300, lockedUntil: 0, lockouts: 0 });
    assert.deepEqual(await s.loginSource("a", "192.0.2.0/24"), {
      failed: 0,
      failedAt: 200,
      lockedUntil: 900,
      lockouts: 1,
    });
    await s.pruneLoginSources("a", 500); // the second's last failure is older; the first is locked till 900
    assert.equal(await s.loginSource("a", "198.51.100.0/24"), null);
    assert.notEqual(await s.loginSource("a", "192.0.2.0/24"), null);
    await s.setLoginSource("a", "198.51.100.0/24", { failed: 1, failedAt: 300, lockedUntil: 0, lockouts: 0 });
    await s.setLoginSource("a", "198.51.100.0/24", null);
    assert.equal(await s.loginSource("a", "198.51.100.0/24"), null);
    await s.pruneLoginSources("a", null);
    assert.equal(await s.loginSource("a", "192.0.2.0/24"), null);
  });
}

/** Appending messages: seqs, duplicates within and across batches. */
function appendCases(t: Case): void {
  t("appendMessages() assigns increasing seqs and drops a duplicate (sender, mid)", async (s) => {
    const r = await s.appendMessages([
      msg({ mid: "m1", sender: "alice" }),
      msg({ mid: "m2", sender: "alice" }),
    ]);
    assert.ok(r[0] && r[1] && r[1].seq > r[0].seq);
    const d = await s.appendMessages([
      msg({ mid: "m1", sender: "alice" }),
      msg({ mid: "m1", sender: "carol" }),
    ]);
    assert.equal(d[0], null);
    assert.ok(d[1]);
    assert.equal(await s.lastSeq(), d[1]!.seq);
    // A resend learns the first copy's seq and time (outbox resends after a lost reply).
    assert.deepEqual(await s.seqOf("alice", "m1"), { seq: r[0]!.seq, ts: r[0]!.ts });
    assert.equal(await s.seqOf("bob", "m1"), null);
    // Unsend (issue 39.3): only the sender's own row goes; a second time finds nothing.
    assert.equal(await s.unsendMessage("bob", "m1"), null, "not bob's");
    assert.equal(await s.unsendMessage("alice", "m1"), 3, "the bytes freed");
    assert.equal(await s.seqOf("alice", "m1"), null);
    assert.equal(await s.unsendMessage("alice", "m1"), null);
    // Disappearing messages (issue 39.5): only expired rows go, delivered or not.
    await s.appendMessages([
      msg({ mid: "e1", sender: "alice", expires: 5000 }),
      msg({ mid: "e2", sender: "alice", expires: 9000 }),
    ]);
    assert.equal(await s.sweepExpired(6000, 100), 1);
    assert.equal(await s.seqOf("alice", "e1"), null);
    assert.ok(await s.seqOf("alice", "e2"));
    assert.ok(await s.seqOf("alice", "m2"), "a message without expiry stays");
    assert.equal(await s.sweepExpired(6000, 100), 0);
    // A seq is never given twice, even when the newest message was taken back.
    const top = await s.lastSeq();
    const [newest] = await s.appendMessages([msg({ mid: "m9", sender: "alice" })]);
    assert.ok(newest && newest.seq > top);
    await s.unsendMessage("alice", "m9");
    const [next] = await s.appendMessages([msg({ mid: "m10", sender: "alice" })]);
    assert.ok(next && next.seq > newest.seq, "the taken-back seq is not given again");
    assert.deepEqual([...(await s.history("d:alice:bob", 0, 0, 10))[0]!.body], [1, 2, 3]);
  });

  t(
    "appendMessages() stores a (sender, mid) once when it comes twice in one batch, or in two at once",
    async (s) => {
      const one = await s.appendMessages([
        msg({ mid: "w1", sender: "alice" }),
        msg({ mid: "w1", sender: "alice" }),
        msg({ mid: "w2", sender: "alice" }),
      ]);
      assert.ok(one[0] && one[2]);
      assert.equal(one[1], null, "the second of one batch is a resend");
      // Two batches in flight at once (the second claims before the first is written).
      const [a, b] = await Promise.all([
        s.appendMessages([msg({ mid: "w3", sender: "alice" })]),
        s.appendMessages([msg({ mid: "w3", sender: "alice" }), msg({ mid: "w1", sender: "alice" })]),
      ]);
      assert.equal([a[0], b[0]].filter((r) => r !== null).length, 1, "w3 stored once");
      assert.equal(b[1], null, "w1 was stored before");
      assert.deepEqual(await s.seqOf("alice", "w1"), { seq: one[0]!.seq, ts: one[0]!.ts });
    },
  );
}

/** Reading messages back: stats, since(), history() by bytes, pending() per conversation. */
function readCases(t: Case): void {
  t("stats() counts users, rooms, messages and their body bytes, and says where the store is", async (s) => {
    await s.createUser({ name: "alice", hash: "h", role: "user", createdAt: 1 });
    await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
    await s.createRoom({
      name: "dev",
      createdBy: "alice",
      createdAt: 1,
      members: [{ user: "alice", sinceSeq: 0, admin: true }],
    });
    await s.appendMessages([msg({ mid: "a", sender: "alice" }), msg({ mid: "b", sender: "bob" })]);
    const st = await s.stats();
    assert.deepEqual([st.users, st.rooms, st.messages, st.bodyBytes], [2, 1, 2, 6]);
    assert.ok(st.where.length > 0 && !/:[^/@]*@/.test(st.where), "no password in where");
    assert.ok(st.sizeBytes > 0);
  });

  t("since() lists every message after a seq, oldest first, up to a limit", async (s) => {
    const r = await s.appendMessages([1, 2, 3, 4].map((i) => msg({ mid: `s${i}`, sender: "alice" })));
    assert.deepEqual((await s.since(0, 10)).map((m) => m.mid), ["s1", "s2", "s3", "s4"]);
    assert.deepEqual((await s.since(r[1]!.seq, 1)).map((m) => m.seq), [r[2]!.seq]);
    assert.deepEqual(await s.since(r[3]!.seq, 10), []);
  });

  t("history() with a byte budget gives the newest that fit, oldest first, and always one", async (s) => {
    await s.appendMessages(
      [10, 20, 30, 40].map((n, i) => msg({ mid: `h${i}`, sender: "alice", body: new Uint8Array(n) })),
    );
    const sizes = async (max?: number) =>
      (await s.history("d:alice:bob", 0, 0, 10, max)).map((m) => m.body.length);
    assert.deepEqual(await sizes(), [10, 20, 30, 40]);
    assert.deepEqual(await sizes(70), [30, 40]);
    assert.deepEqual(await sizes(69), [40]);
    assert.deepEqual(await sizes(5), [40], "the newest even when alone it is over the budget");
    assert.deepEqual((await s.history("d:alice:bob", 0, 0, 3, 1000)).map((m) => m.body.length), [20, 30, 40]);
  });

  t("pending() returns DMs, room and broadcast messages in order until acked per conversation", async (s) => {
    await s.createUser({ name: "alice", hash: "h", role: "user", createdAt: 1 });
    await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
    await s.createRoom({
      name: "dev",
      createdBy: "alice",
      createdAt: 1,
      members: [{ user: "alice", sinceSeq: 0, admin: true }, { user: "bob", sinceSeq: 0, admin: false }],
    });
    await s.appendMessages([
      msg({ mid: "d1", sender: "alice" }),
      msg({ mid: "r1", sender: "alice", kind: "room", target: "dev", conv: "r:dev" }),
      msg({ mid: "b1", sender: "alice", kind: "broadcast", target: "", conv: "b" }),
      msg({ mid: "x1", sender: "alice", target: "carol", conv: "d:alice:carol" }),
      msg({ mid: "d2", sender: "alice" }),
    ]);
    const p = await s.pending("bob", 0, 100);
    assert.deepEqual(p.map((m) => m.mid), ["d1", "r1", "b1", "d2"]);
    assert.deepEqual((await s.pending("alice", 0, 100)).map((m) => m.mid), []);
    await s.ack("bob", "d:alice:bob", p[0]!.seq);
    assert.deepEqual((await s.pending("bob", 0, 100)).map((m) => m.mid), ["r1", "b1", "d2"]);
    await s.ack("bob", "d:alice:bob", p[3]!.seq);
    await s.ack("bob", "d:alice:bob", p[0]!.seq); // an older ack never moves the cursor back
    assert.deepEqual((await s.pending("bob", 0, 2)).map((m) => m.mid), ["r1", "b1"]);
    assert.deepEqual((await s.pending("bob", p[1]!.seq, 10)).map((m) => m.mid), ["b1"]);
    // Several conversations in one call; an older seq in the same call never moves a cursor back.
    await s.ackMany("bob", [{ conv: "r:dev", seq: p[1]!.seq }, { conv: "b", seq: p[2]!.seq }, {
      conv: "r:dev",
      seq: 0,
    }]);
    assert.deepEqual((await s.pending("bob", 0, 10)).map((m) => m.mid), []);
  });
}

/** pending() for one device of several, and acks written with messages. */
function deviceQueueCases(t: Case): void {
  t(
    "pending() for one device of several: also one's own DMs, notes to self, room and broadcast messages",
    async (s) => {
      for (const name of ["alice", "bob", "carol"]) {
        await s.createUser({
          name,
          hash: "h",
          role: "user",
          createdAt: 1,
        });
      }
      await s.createRoom({
        name: "dev",
        createdBy: "alice",
        createdAt: 1,
        members: [{ user: "alice", sinceSeq: 0, admin: true }, { user: "bob", sinceSeq: 0, admin: false }],
      });
      const room = { kind: "room" as const, target: "dev", conv: "r:dev" };
      const all = { kind: "broadcast" as const, target: "", conv: "b" };
      await s.appendMessages([
        msg({ mid: "d1", sender: "alice" }),
        msg({ mid: "o1", sender: "bob", target: "alice" }),
        msg({ mid: "n1", sender: "bob", target: "bob", conv: "d:bob:bob" }),
        msg({ mid: "r1", sender: "bob", ...room }),
        msg({ mid: "x1", sender: "alice", target: "carol", conv: "d:alice:carol" }),
        msg({ mid: "r2", sender: "alice", ...room }),
        msg({ mid: "b1", sender: "bob", ...all }),
        msg({ mid: "o2", sender: "bob", target: "carol", conv: "d:bob:carol" }),
        msg({ mid: "b2", sender: "carol", ...all }),
        msg({ mid: "d2", sender: "alice" }),
      ]);
      const other = { cursor: "bob/2", sinceSeq: 0, own: true };
      const mids = async (after: number, lim: number, dev?: typeof other) =>
        (await s.pending("bob", after, lim, dev)).map((m) => m.mid);
      assert.deepEqual(await mids(0, 20, other), ["d1", "o1", "n1", "r1", "r2", "b1", "o2", "b2", "d2"]);
      assert.deepEqual(
        await mids(0, 20),
        ["d1", "r2", "b2", "d2"],
        "the first device: only what others sent",
      );
      assert.deepEqual(await mids(0, 4, other), ["d1", "o1", "n1", "r1"], "the limit keeps seq order");
      const p = await s.pending("bob", 0, 20, other);
      assert.deepEqual(await mids(p[4]!.seq, 3, other), ["b1", "o2", "b2"]);
      await s.ackMany("bob/2", [{ conv: "d:bob:carol", seq: p[6]!.seq }, { conv: "r:dev", seq: p[3]!.seq }]);
      assert.deepEqual(await mids(0, 20, other), ["d1", "o1", "n1", "r2", "b1", "b2", "d2"]);
      assert.deepEqual((await s.pending("nobody", 0, 20)).map((m) => m.mid), []);
    },
  );

  t(
    "appendMessages() with acks moves those cursors in the same call (never back), alone or with messages",
    async (s) => {
      await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
      const [a, b] = await s.appendMessages([
        msg({ mid: "k1", sender: "alice", target: "bob" }),
        msg({ mid: "k2", sender: "alice", target: "bob" }),
      ]);
      const [c] = await s.appendMessages([msg({ mid: "k3", sender: "alice", target: "bob" })], [
        { user: "bob", acks: [{ conv: a!.conv, seq: b!.seq }, { conv: a!.conv, seq: a!.seq }] },
      ]);
      assert.deepEqual((await s.pending("bob", 0, 10)).map((m) => m.mid), ["k3"]);
      await s.appendMessages([], [{ user: "bob", acks: [{ conv: c!.conv, seq: c!.seq }] }]);
      assert.deepEqual((await s.pending("bob", 0, 10)).map((m) => m.mid), []);
    },
  );
}

/** pending() and room membership. */
function membershipQueueCases(t: Case): void {
  t("pending() skips room messages from before joining and after leaving", async (s) => {
    await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
    await s.createRoom({
      name: "r",
      createdBy: "a",
      createdAt: 1,
      members: [{ user: "a", sinceSeq: 0, admin: true }],
    });
    const [m1] = await s.appendMessages([
      msg({ mid: "r1", sender: "a", kind: "room", target: "r", conv: "r:r" }),
    ]);
    await s.addMember("r", { user: "bob", sinceSeq: m1!.seq, admin: false });
    await s.appendMessages([msg({ mid: "r2", sender: "a", kind: "room", target: "r", conv: "r:r" })]);
    assert.deepEqual((await s.pending("bob", 0, 10)).map((m) => m.mid), ["r2"]);
    await s.removeMember("r", "bob");
    assert.deepEqual((await s.pending("bob", 0, 10)).map((m) => m.mid), []);
    assert.deepEqual((await s.getRoom("r"))?.members.map((m) => m.user), ["a"]);
  });
}

/** Devices: ids, cursors, removal. */
function deviceCases(t: Case): void {
  t(
    "devices: ids never reused, each with its own queue cursor and start, removal drops its keys",
    async (s) => {
      await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
      const [m1] = await s.appendMessages([msg({ mid: "d1", sender: "alice", target: "bob" })]);
      assert.equal(await s.addDevice("bob", "laptop", 10, 0), 1);
      const two = await s.addDevice("bob", "desk", 11, m1!.seq);
      assert.equal(two, 2);
      await s.appendMessages([msg({ mid: "d2", sender: "alice", target: "bob" })]);
      const one = { cursor: "bob", sinceSeq: 0 };
      const dev2 = { cursor: "bob/2", sinceSeq: m1!.seq };
      assert.deepEqual((await s.pending("bob", 0, 10, one)).map((m) => m.mid), ["d1", "d2"]);
      assert.deepEqual(
        (await s.pending("bob", 0, 10, dev2)).map((m) => m.mid),
        ["d2"],
        "only after it was added",
      );
      const last = await s.lastSeq();
      await s.ackMany("bob", [{ conv: "d:alice:bob", seq: last }]);
      assert.deepEqual((await s.pending("bob", 0, 10, one)).map((m) => m.mid), []);
      assert.deepEqual(
        (await s.pending("bob", 0, 10, dev2)).map((m) => m.mid),
        ["d2"],
        "device 1's ack is not device 2's",
      );
      await s.ackMany("bob/2", [{ conv: "d:alice:bob", seq: last }]);
      assert.deepEqual((await s.pending("bob", 0, 10, dev2)).map((m) => m.mid), []);
      await s.putIdentity("bob/2", "{}", "{}");
      await s.addPrekeys("bob/2", [{ id: 1, pub: "p" }]);
      // Device keys: recorded once for a device from before them; kept after removal. devices() is
      // read between the changes: each shows at once (a store that keeps the rows must forget them).
      // `devicesNow`, where a store has it, gives the same rows at once (a send's hot path reads it).
      const keys = async () => {
        const rows = await s.devices("bob");
        if (s.devicesNow) assert.deepEqual(s.devicesNow("bob"), rows, "devicesNow agrees with devices");
        return rows.map((d) => [d.device, d.signKey, d.removed]);
      };
      assert.deepEqual(await keys(), [[1, null, null], [2, null, null]]);
      assert.equal(await s.setDeviceKey("bob", 2, "K2"), true);
      assert.deepEqual(await keys(), [[1, null, null], [2, "K2", null]]);
      assert.equal(await s.setDeviceKey("bob", 2, "other"), false, "a recorded key is never replaced");
      assert.deepEqual(await keys(), [[1, null, null], [2, "K2", null]]);
      assert.equal(await s.removeDevice("bob", 2, 20), true);
      assert.deepEqual(await keys(), [[1, null, null], [2, "K2", 20]]);
      assert.equal(await s.removeDevice("bob", 2, 21), false);
      assert.equal(await s.takeBundle("bob/2"), null);
      assert.equal(await s.countPrekeys("bob/2"), 0);
      assert.equal((await keys()).length, 2);
      assert.equal(await s.addDevice("bob", "new", 30, 0, "K3"), 3, "a removed id is not reused");
      assert.deepEqual((await s.devices("bob")).map((d) => d.signKey), [null, "K2", "K3"]);
      assert.deepEqual((await s.devices("bob")).map((d) => [d.device, d.removed]), [[1, null], [2, 20], [
        3,
        null,
      ]]);
      await s.putIdentity("bob", "{}", "{}");
      await s.putIdentity("bobby", "{}", "{}");
      await s.resetDevices("bob", 40);
      assert.ok((await s.devices("bob")).every((d) => d.removed === 40 || d.removed === 20));
      assert.equal((await keys()).length, 3);
      assert.equal(await s.takeBundle("bob"), null);
      assert.ok(await s.takeBundle("bobby"), "another user's keys stay");
    },
  );
}

/** history() of a DM, by time and seq. */
function historyCases(t: Case): void {
  t(
    "history() of a DM holds both directions and no other conversation, newest within the limit",
    async (s) => {
      const dm = (mid: string, sender: string, target: string) => {
        const [x, y] = [sender, target].sort();
        return msg({ mid, sender, target, conv: `d:${x}:${y}` });
      };
      await s.appendMessages([
        dm("1", "alice", "bob"),
        dm("2", "bob", "alice"),
        dm("3", "carol", "bob"),
        dm("4", "alice", "carol"),
        dm("5", "alice", "bob"),
        dm("6", "bob", "bob"),
        dm("7", "bob", "alice"),
        msg({ mid: "8", sender: "alice", kind: "room", target: "bob", conv: "r:bob" }),
      ]);
      const mids = async (conv: string, limit = 10, max?: number) =>
        (await s.history(conv, 0, 0, limit, max)).map((m) => m.mid);
      assert.deepEqual(await mids("d:alice:bob"), ["1", "2", "5", "7"]);
      assert.deepEqual(await mids("d:alice:bob", 3), ["2", "5", "7"]);
      assert.deepEqual(await mids("d:alice:bob", 10, 6), ["5", "7"]);
      assert.deepEqual(await mids("d:bob:bob"), ["6"], "a note to self");
      assert.deepEqual(await mids("d:bob:carol"), ["3"]);
      assert.deepEqual(await mids("r:bob"), ["8"], "a room named like a user is another conversation");
    },
  );

  t("history() filters by time and seq and keeps the newest within the limit", async (s) => {
    const rows = await s.appendMessages(
      [1, 2, 3, 4].map((i) =>
        msg({ mid: `h${i}`, sender: "a", kind: "room", target: "r", conv: "r:r", ts: i * 100 })
      ),
    );
    assert.deepEqual((await s.history("r:r", 200, 0, 10)).map((m) => m.mid), ["h2", "h3", "h4"]);
    assert.deepEqual((await s.history("r:r", 0, 0, 2)).map((m) => m.mid), ["h3", "h4"]);
    assert.deepEqual((await s.history("r:r", 0, rows[2]!.seq, 10)).map((m) => m.mid), ["h4"]);
  });
}

/** history() paged before a seq. */
function pagingCases(t: Case): void {
  t(
    "history() pages before a seq: the newest below it, oldest first, with time, seq and byte bounds",
    async (s) => {
      const rows = await s.appendMessages(
        Array.from(
          { length: 12 },
          (_, i) => msg({ mid: `p${i}`, sender: "a", kind: "room", target: "r", conv: "r:r", ts: i * 100 }),
        ),
      );
      await s.appendMessages([msg({ mid: "x", sender: "a" })]); // another conversation, between pages
      const seq = rows.map((r) => r!.seq);
      const mids = async (before: number, limit = 5, since = 0, after = 0, max?: number) =>
        (await s.history("r:r", since, after, limit, max, before)).map((m) => m.mid);
      assert.deepEqual(await mids(seq[7]!), ["p2", "p3", "p4", "p5", "p6"], "the newest 5 below p7's seq");
      assert.deepEqual(await mids(seq[2]!), ["p0", "p1"], "the first page");
      assert.deepEqual(await mids(seq[0]!), [], "nothing before the first");
      assert.deepEqual(await mids(seq[11]! + 100), ["p7", "p8", "p9", "p10", "p11"], "above the newest");
      assert.deepEqual(await mids(seq[7]!, 5, 400), ["p4", "p5", "p6"], "since a time");
      assert.deepEqual(await mids(seq[7]!, 5, 0, seq[4]!), ["p5", "p6"], "above afterSeq");
      assert.deepEqual(await mids(seq[7]!, 5, 0, 0, 6), ["p5", "p6"], "the byte budget (3 bytes each)");
      // Every page, newest to oldest, each starting below the oldest of the last: all twelve, once.
      const all: string[] = [];
      for (let before = Number.MAX_SAFE_INTEGER;;) {
        const page = await s.history("r:r", 0, 0, 5, undefined, before);
        if (!page.length) break;
        all.unshift(...page.map((m) => m.mid));
        before = page[0]!.seq;
      }
      assert.deepEqual(all, rows.map((_, i) => `p${i}`));
      await s.unsendMessage("a", "p5");
      assert.deepEqual(
        await mids(seq[7]!, 3),
        ["p3", "p4", "p6"],
        "a deleted message leaves no hole in a page",
      );
    },
  );
}

/** Rooms, their membership log, kicks, bans and audit rows. */
function roomCases(t: Case): void {
  t("rooms: createRoom() is unique, roomsOf() lists memberships", async (s) => {
    const mk = (n: string) =>
      s.createRoom({
        name: n,
        createdBy: "a",
        createdAt: 1,
        members: [{ user: "a", sinceSeq: 0, admin: true }],
      });
    assert.equal(await mk("x"), true);
    assert.equal(await mk("x"), false);
    await mk("y");
    assert.deepEqual((await s.roomsOf("a")).map((r) => r.name), ["x", "y"]);
    assert.equal((await s.getRoom("x"))?.members[0]?.admin, true);
    assert.equal(await s.getRoom("zz"), null);
  });

  t("rooms: the membership log appends only the next epoch and lists in order", async (s) => {
    assert.equal(await s.appendRoomLog("x", 1, "e1"), false);
    assert.equal(await s.appendRoomLog("x", 0, "e0"), true);
    assert.equal(await s.appendRoomLog("x", 0, "again"), false);
    assert.equal(await s.appendRoomLog("x", 1, "e1"), true);
    assert.deepEqual(await s.roomLog("x"), ["e0", "e1"]);
    assert.deepEqual(await s.roomLog("y"), []);
  });

  t(
    "rooms: open rooms (issue 71.12): closed at creation, opened, described, listed with counts, closed again",
    async (s) => {
      const mk = (name: string, users: string[]) =>
        s.createRoom({
          name,
          createdBy: users[0]!,
          createdAt: 1,
          members: users.map((user, i) => ({ user, sinceSeq: 0, admin: i === 0 })),
        });
      await mk("pub", ["a", "b"]);
      await mk("hidden", ["a"]);
      await mk("apub", ["c"]);
      const pub = await s.getRoom("pub");
      assert.deepEqual([pub?.open, pub?.description], [false, ""], "closed at creation, no description");
      assert.deepEqual(await s.openRooms(10), []);
      assert.equal(
        await s.setRoomPublic("pub", { open: true, description: "Talk about Parley ünïcode" }),
        true,
      );
      assert.equal(await s.setRoomPublic("apub", { open: true }), true);
      assert.equal(await s.setRoomPublic("nope", { open: true }), false, "no such room");
      assert.deepEqual(await s.openRooms(10), [
        { name: "apub", members: 1, description: "" },
        { name: "pub", members: 2, description: "Talk about Parley ünïcode" },
      ]);
      assert.deepEqual((await s.openRooms(1)).map((r) => r.name), ["apub"], "bounded by the limit");
      await s.addMember("pub", { user: "d", sinceSeq: 5, admin: false });
      assert.equal((await s.openRooms(10))[1]?.members, 3, "the count follows the members");
      // the description alone changes; the flag alone changes; members and the description stay
      assert.equal(await s.setRoomPublic("pub", { description: "new words" }), true);
      assert.equal(await s.setRoomPublic("pub", { open: false }), true);
      const closed = await s.getRoom("pub");
      assert.deepEqual([closed?.open, closed?.description, closed?.members.length], [false, "new words", 3]);
      assert.deepEqual((await s.openRooms(10)).map((r) => r.name), ["apub"]);
      assert.equal((await s.roomsOf("b"))[0]?.open, false, "roomsOf() gives the flag too");
    },
  );

  t("kicks, bans and audit rows", async (s) => {
    await s.addKick({ user: "m", by: "a", at: 10, bannedUntil: null, reason: null });
    await s.addKick({ user: "m", by: "a", at: 20, bannedUntil: 100, reason: "spam" });
    assert.equal((await s.activeBan("m", 50))?.reason, "spam");
    assert.equal(await s.activeBan("m", 100), null);
    assert.equal((await s.listKicks(10)).length, 2);
    assert.equal(await s.liftBans("m", 60), 1);
    assert.equal(await s.activeBan("m", 61), null);
    await s.audit({ at: 1, actor: "a", action: "kick", target: "m", detail: "" });
    assert.equal((await s.listAudit(5))[0]?.action, "kick");
  });
}

/** Resume tokens, invitation codes, the key directory. */
function tokenCases(t: Case): void {
  t(
    "resume tokens: live ones name their account and role; expired, dropped and orphan ones do not",
    async (s) => {
      await s.createUser({ name: "alice", hash: "h", role: "user", createdAt: 1 });
      await s.createUser({ name: "bob", hash: "h", role: "user", createdAt: 1 });
      await s.addToken("alice", "h1", 100);
      await s.addToken("alice", "h2", 300);
      await s.addToken("ghost", "g1", 300); // no such account
      const owner = async (h: string, now: number) => (await s.tokenOwner(h, now))?.user ?? null;
      assert.deepEqual(await s.tokenOwner("h1", 50), { user: "alice", role: "user" });
      await s.setRole("alice", "admin");
      assert.deepEqual(await s.tokenOwner("h1", 50), { user: "alice", role: "admin" });
      assert.equal(await owner("h1", 100), null);
      assert.equal(await owner("nope", 0), null);
      assert.equal(await owner("g1", 0), null);
      await s.dropTokens("alice");
      assert.equal(await owner("h2", 50), null);
      for (let i = 0; i < 5; i++) await s.addToken("bob", `b${i}`, 1000 + i);
      await s.addToken("bob", "old", 10);
      assert.equal(await s.dropToken("b0"), true);
      assert.equal(await s.dropToken("b0"), false);
      await s.pruneTokens("bob", 2, 100); // "old" has expired; of b1..b4 the two newest stay
      assert.deepEqual(
        await Promise.all(["old", "b1", "b2", "b3", "b4"].map((h) => owner(h, 0))),
        [null, null, null, "bob", "bob"],
      );
    },
  );

  t("invitation codes: each works once, until it expires", async (s) => {
    await s.addInvite("i1", "root", 100);
    await s.addInvite("i2", "root", 50);
    assert.equal(await s.takeInvite("nope", 0), null);
    assert.deepEqual(await s.takeInvite("i1", 10), { by: "root", expires: 100 });
    assert.equal(await s.takeInvite("i1", 10), null, "used up");
    assert.equal(await s.takeInvite("i2", 50), null, "expired");
    await s.addInvite("i1", "root", 100); // given back (a registration that failed after taking it)
    assert.deepEqual(await s.takeInvite("i1", 20), { by: "root", expires: 100 });
  });

  t("key directory hands out each one-time prekey once", async (s) => {
    await s.putIdentity("bob", "ID", "SPK");
    await s.addPrekeys("bob", [{ id: 1, pub: "p1" }, { id: 2, pub: "p2" }]);
    assert.equal(await s.countPrekeys("bob"), 2);
    const b0 = await s.takeBundle("bob", false);
    assert.deepEqual([b0?.identity, b0?.spk, b0?.opk], ["ID", "SPK", null]);
    assert.equal(await s.countPrekeys("bob"), 2, "a bundle without a one-time prekey takes none");
    const b1 = await s.takeBundle("bob");
    const b2 = await s.takeBundle("bob");
    const b3 = await s.takeBundle("bob");
    assert.equal(b1?.identity, "ID");
    assert.notEqual(b1?.opk, b2?.opk);
    assert.equal(b3?.opk, null);
    assert.equal(await s.takeBundle("nobody"), null);
    await s.addPrekeys("bob", [{ id: 3, pub: "p3" }]);
    await s.putIdentity("bob", "ID2", "SPK2");
    assert.equal(await s.countPrekeys("bob"), 0);
  });
}

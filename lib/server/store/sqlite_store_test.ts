import assert from "node:assert/strict";
import { storeConformance } from "./conformance.ts";
import { SqliteStore } from "./sqlite_store.ts";
import { MIGRATIONS } from "./migrations.ts";
import { DatabaseSync } from "node:sqlite";
import { tempDb, tempFileStore } from "./temp_db_testing.ts";

storeConformance("SqliteStore(:memory:)", () => new SqliteStore(":memory:"));
// Every answer again with at most 2 messages in memory: the rest found by their keys in the table (issue 73).
storeConformance("SqliteStore(:memory:, keys moved)", () => new SqliteStore(":memory:", { tailMax: 2 }));
storeConformance("SqliteStore(file)", () => tempFileStore());

Deno.test("SqliteStore keeps data across reopen and runs migrations once", async () => {
  const { path, remove } = tempDb();
  const version = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
    } finally {
      db.close();
    }
  };
  const a = new SqliteStore(path);
  await a.createUser({ name: "x", hash: "h", role: "admin", createdAt: 1 });
  await a.close();
  assert.equal(version(), MIGRATIONS.length, "every migration ran and was recorded");
  // A second open runs none again: a migration run twice would fail ("table already exists").
  const b = new SqliteStore(path);
  assert.equal((await b.getUser("x"))?.role, "admin");
  await b.close();
  assert.equal(version(), MIGRATIONS.length);
  remove();
});

Deno.test("SqliteStore.pending() reads only the user's conversations: a sync does not get slower with others' DMs", async () => {
  const s = new SqliteStore(":memory:");
  try {
    for (let i = 0; i < 101; i++) {
      await s.createUser({ name: i ? `u${i}` : "bob", hash: "h", role: "user", createdAt: 1 });
    }
    const median = async () => {
      const ms: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        await s.pending("bob", 0, 100);
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[7]!;
    };
    const before = await median();
    const body = new Uint8Array(16);
    for (let b = 0; b < 50; b++) {
      await s.appendMessages(Array.from({ length: 1000 }, (_, i) => {
        const from = `u${1 + (i % 50)}`, to = `u${51 + (i % 50)}`;
        return {
          mid: `m${b}-${i}`,
          sender: from,
          kind: "user",
          target: to,
          conv: `d:${from}:${to}`,
          ts: 1,
          body,
        };
      }));
    }
    const after = await median();
    // A scan of the 50,000 DMs took ~7 ms here; an index range for bob's own takes what it took empty.
    assert.ok(
      after < before * 5 + 2,
      `pending: ${before.toFixed(2)} ms empty, ${after.toFixed(2)} ms with 50,000 others' DMs`,
    );
  } finally {
    await s.close();
  }
});

Deno.test("SqliteStore: retention takes its range by seq (no index on ts); a clock stepped back only delays a sweep", async () => {
  const s = new SqliteStore(":memory:");
  try {
    const idx = (s as unknown as { db: DatabaseSync }).db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").all()
      .map((r) => r.name);
    assert.ok(!idx.includes("messages_ts"), `indexes on messages: ${idx.join(", ")}`);
    // Notes to self (acknowledged by nobody else): only their age decides.
    const note = (mid: string, ts: number) => ({
      mid,
      sender: "al",
      kind: "user" as const,
      target: "al",
      conv: "d:al:al",
      ts,
      body: new Uint8Array(1),
    });
    const left = async () => (await s.since(0, 100)).map((m) => m.mid);
    await s.appendMessages([note("a", 10), note("b", 20), note("back", 5), note("c", 30)]);
    await s.sweepMessages(15, 100);
    const kept = await left();
    assert.ok(!kept.includes("a") && kept.includes("b") && kept.includes("c"), `kept ${kept}`);
    await s.sweepMessages(25, 100);
    assert.deepEqual(await left(), ["c"], "'back' went by the next sweep at the latest");
    // Many rows with gaps in seq (deleted ones): the search finds the boundary exactly.
    await s.appendMessages(Array.from({ length: 500 }, (_, i) => note(`n${i}`, 100 + i)));
    assert.equal(await s.sweepMessages(100 + 250, 1000), 251, "c and n0..n249");
    assert.equal(await s.sweepMessages(100 + 250, 1000), 0);
    assert.equal((await s.since(0, 1000))[0]!.mid, "n250");
    assert.equal(await s.sweepMessages(10_000, 7), 7, "the limit holds");
  } finally {
    await s.close();
  }
});

const dm = (mid: string, sender = "al") => ({
  mid,
  sender,
  kind: "user" as const,
  target: "bo",
  conv: "d:al:bo",
  ts: 1,
  body: new Uint8Array(2),
});

Deno.test("SqliteStore finds a resend after a reopen, with no UNIQUE index over (sender, mid) (issue 37)", async () => {
  const { path, remove } = tempDb();
  try {
    const a = new SqliteStore(path);
    const [first] = await a.appendMessages([dm("m1"), dm("m2")]);
    await a.close();
    const b = new SqliteStore(path);
    try {
      const idx = (b as unknown as { db: DatabaseSync }).db
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").all();
      assert.ok(
        idx.every((r) => r.sql !== null && !/UNIQUE/i.test(String(r.sql))),
        `indexes on messages: ${idx.map((r) => r.name).join(", ")}`,
      );
      // The first message after the restart is the resend: the window is read from the table.
      const again = await b.appendMessages([dm("m1"), dm("m1", "cy"), dm("m3"), dm("m3")]);
      assert.deepEqual(
        again.map((r) => r !== null),
        [false, true, true, false],
        "dups across and within batches",
      );
      assert.deepEqual(await b.seqOf("al", "m1"), { seq: first!.seq, ts: 1 });
      // A mid taken back is free again, as it was under the UNIQUE index.
      assert.equal(await b.unsendMessage("al", "m2"), 2);
      assert.ok((await b.appendMessages([dm("m2")]))[0]);
    } finally {
      await b.close();
    }
  } finally {
    remove();
  }
});

Deno.test("SqliteStore: migration 12 keeps every row and never gives a seq twice", async () => {
  const { path, remove } = tempDb();
  try {
    const db = new DatabaseSync(path);
    for (let i = 0; i < 11; i++) db.exec(MIGRATIONS[i]!);
    db.exec("PRAGMA user_version = 11");
    const ins = db.prepare(
      "INSERT INTO messages (mid, sender, kind, target, conv, ts, body) VALUES (?, 'al', 'user', 'bo', 'd:al:bo', 1, x'00')",
    );
    for (let i = 0; i < 5; i++) ins.run(`o${i}`);
    db.exec("DELETE FROM messages WHERE seq = 5"); // the newest taken back: seq 5 is used up
    db.close();
    const s = new SqliteStore(path);
    try {
      assert.deepEqual((await s.since(0, 10)).map((m) => [m.seq, m.mid]), [[1, "o0"], [2, "o1"], [3, "o2"], [
        4,
        "o3",
      ]]);
      const r = await s.appendMessages([dm("o0"), dm("n1")]);
      assert.equal(r[0], null, "a resend of a migrated row");
      assert.equal(r[1]?.seq, 6);
    } finally {
      await s.close();
    }
  } finally {
    remove();
  }
});

Deno.test("SqliteStore: the WAL grows with what is written, not to a reserve at open; stats list every file with its size (issue 68.9)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-wal-" });
  try {
    const path = `${dir}/parley.db`;
    const s = new SqliteStore(path, { check: true });
    try {
      for (let i = 0; i < 20; i++) {
        await s.createUser({ name: `w${i}`, hash: "h", role: "user", createdAt: 1 });
      }
      const wal = (await Deno.stat(`${path}-wal`)).size;
      assert.ok(wal < 1_000_000, `a small database keeps a small WAL: ${wal} bytes`);
      const st = await s.stats();
      assert.deepEqual(st.files?.map((f) => f.name), [path, `${path}-wal`, `${path}-shm`]);
      assert.equal(st.files?.find((f) => f.name.endsWith("-wal"))?.bytes, wal);
      assert.equal(st.sizeBytes, st.files!.reduce((a, f) => a + f.bytes, 0));
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteStore: the open rooms' migration keeps a database's rooms, closed and undescribed (issue 71.12)", async () => {
  const { path, remove } = tempDb();
  try {
    const db = new DatabaseSync(path);
    const before = MIGRATIONS.length - 1;
    for (let i = 0; i < before; i++) db.exec(MIGRATIONS[i]!);
    db.exec(`PRAGMA user_version = ${before}`);
    db.exec("INSERT INTO rooms (name, created_by, created_at) VALUES ('old', 'al', 1)");
    db.exec("INSERT INTO room_members (room, user, since_seq, admin) VALUES ('old', 'al', 0, 1)");
    db.close();
    const s = new SqliteStore(path);
    try {
      const r = await s.getRoom("old");
      assert.deepEqual([r?.members.length, r?.open, r?.description], [1, false, ""]);
      assert.equal(await s.setRoomPublic("old", { open: true, description: "d" }), true);
      assert.deepEqual(await s.openRooms(5), [{ name: "old", members: 1, description: "d" }]);
    } finally {
      await s.close();
    }
  } finally {
    remove();
  }
});

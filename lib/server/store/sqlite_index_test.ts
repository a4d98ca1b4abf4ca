/**
 * SqliteStore's in-memory message index (issue 37) against its files: after refused batches,
 * unsends, retention and expiry sweeps, a store's answers equal those of the same files opened
 * again (its index rebuilt from the message log and the table); a database from before the log
 * opens with its table's rows indexed, read and deleted there.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "./sqlite_store.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { NewMessage } from "./store.ts";
import { midHash } from "./recent_mids.ts";
import { tempDb } from "./temp_db_testing.ts";
import { StoreFull } from "./store_errors.ts";

const USERS = ["al", "bo", "cy"];
const CONVS = ["d:al:bo", "d:al:al", "d:bo:cy", "r:room", "b"];

const msg = (mid: string, sender: string, target: string, extra: Partial<NewMessage> = {}): NewMessage => {
  const [x, y] = [sender, target].sort();
  return {
    mid,
    sender,
    kind: "user",
    target,
    conv: `d:${x}:${y}`,
    ts: 10,
    body: new Uint8Array(mid.length),
    ...extra,
  };
};
const roomMsg = (mid: string, sender: string): NewMessage => ({
  mid,
  sender,
  kind: "room",
  target: "room",
  conv: "r:room",
  ts: 10,
  body: new Uint8Array(3),
});

/** Everything the index answers, through the Store's methods. */
async function answers(s: SqliteStore) {
  const { messages, bodyBytes } = await s.stats();
  const out: unknown[] = [messages, bodyBytes];
  for (const u of USERS) {
    out.push(await s.storedBytes(u));
    out.push((await s.pending(u, 0, 100)).map((m) => m.seq));
    out.push((await s.pending(u, 0, 100, { cursor: `${u}/2`, sinceSeq: 0, own: true })).map((m) => m.seq));
  }
  for (const c of CONVS) out.push((await s.history(c, 0, 0, 100)).map((m) => m.mid));
  return out;
}

/**
 * The store's answers equal those of its files opened again (an index rebuilt from the log and the
 * table; one store holds the files at a time): closes `s`, returns the reopened store.
 */
async function sameAsTable(s: SqliteStore, path: string, why: string): Promise<SqliteStore> {
  const before = await answers(s);
  await s.close();
  const fresh = new SqliteStore(path);
  assert.deepEqual(await answers(fresh), before, why);
  return fresh;
}

async function seeded(path: string): Promise<SqliteStore> {
  const s = new SqliteStore(path);
  for (const name of USERS) await s.createUser({ name, hash: "h", role: "user", createdAt: 1 });
  await s.createRoom({
    name: "room",
    createdBy: "al",
    createdAt: 1,
    members: USERS.map((user) => ({ user, sinceSeq: 0, admin: false })),
  });
  return s;
}

Deno.test("SqliteStore: a batch the disk refuses (SQLITE_FULL) leaves nothing of it in the index, the resend windows or the table, and writes go on once there is room", async () => {
  const { path, remove } = tempDb();
  let s = await seeded(path);
  try {
    await s.appendMessages([msg("a1", "al", "bo"), roomMsg("r1", "cy")]);
    const before = await answers(s);
    // The database may not grow (a full disk, injected as SQLite's page cap): the last message needs
    // new pages, so the whole transaction is refused and rolled back.
    const bad = msg("big", "bo", "al", { body: new Uint8Array(70_000) });
    const db = (s: SqliteStore) => (s as unknown as { db: DatabaseSync }).db;
    const pages = (s: SqliteStore) =>
      (db(s).prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
    for (const n of [30, 2]) {
      const batch = Array.from(
        { length: n },
        (_, i) => i === 1 ? roomMsg(`x${i}`, "bo") : msg(`x${i}`, "al", "bo"),
      );
      db(s).exec(`PRAGMA max_page_count=${pages(s)}`);
      await assert.rejects(async () => await s.appendMessages([...batch, bad]), StoreFull);
      assert.deepEqual(await answers(s), before, `nothing of the failed batch of ${n + 1}`);
      s = await sameAsTable(s, path, "after the refused batch");
    }
    // Its mids are free (not taken for resends); the seqs it was given are not given again.
    const [again] = await s.appendMessages([msg("x0", "al", "bo")]);
    assert.ok(again && again.seq > 2, `seq ${again?.seq}`);
    assert.deepEqual((await s.pending("bo", 0, 10)).map((m) => m.mid), ["a1", "r1", "x0"]);
    s = await sameAsTable(s, path, "after the next batch");
    // A batch with a resend among them: each new message its own seq, in order.
    const big = Array.from({ length: 40 }, (_, i) => msg(i === 20 ? "x0" : `y${i}`, "al", "bo"));
    const stored = (await s.appendMessages(big)).filter((m) => m !== null);
    assert.equal(stored.length, 39);
    assert.deepEqual(
      (await s.since(again!.seq, 100)).map((m) => [m.seq, m.mid]),
      stored.map((m) => [m.seq, m.mid]),
    );
  } finally {
    await s.close();
    remove();
  }
});

Deno.test("SqliteStore: unsend, retention and expiry take their rows out of the index", async () => {
  const { path, remove } = tempDb();
  let s = await seeded(path);
  try {
    await s.appendMessages([
      msg("n1", "al", "al", { ts: 1 }),
      msg("d1", "al", "bo", { ts: 1 }),
      msg("n2", "al", "al", { ts: 1 }),
      msg("e1", "bo", "cy", { expires: 50 }),
      roomMsg("r1", "al"),
      msg("d2", "bo", "al"),
      { mid: "b1", sender: "cy", kind: "broadcast", target: "", conv: "b", ts: 10, body: new Uint8Array(7) },
    ]);
    s = await sameAsTable(s, path, "stored");
    assert.equal(await s.unsendMessage("bo", "d2"), 2);
    s = await sameAsTable(s, path, "after an unsend");
    assert.equal(await s.sweepMessages(5, 100), 2, "the two notes to self");
    s = await sameAsTable(s, path, "after retention");
    assert.equal(await s.sweepExpired(60, 100), 1);
    s = await sameAsTable(s, path, "after expiry");
    assert.equal((await s.stats()).messages, 3);
  } finally {
    await s.close();
    remove();
  }
});

Deno.test("SqliteStore: a database from before the message index opens with it built from the rows", async () => {
  const { path, remove } = tempDb();
  try {
    const db = new DatabaseSync(path);
    const before = MIGRATIONS.length - 1; // the schema with messages_target and messages_sender
    for (let i = 0; i < before; i++) db.exec(MIGRATIONS[i]!);
    db.exec(`PRAGMA user_version = ${before}`);
    for (const u of ["al", "bo"]) {
      db.prepare("INSERT INTO users (name, hash, created_at) VALUES (?, 'h', 1)").run(u);
    }
    const ins = db.prepare(
      "INSERT INTO messages (mid, sender, kind, target, conv, ts, body) VALUES (?, ?, 'user', ?, 'd:al:bo', ?, ?)",
    );
    for (let i = 0; i < 6; i++) {
      ins.run(`o${i}`, i % 2 ? "bo" : "al", i % 2 ? "al" : "bo", i, new Uint8Array(i));
    }
    db.prepare("INSERT INTO cursors (user, conv, seq) VALUES ('bo', 'd:al:bo', 3)").run();
    db.close();
    const s = new SqliteStore(path);
    try {
      const idx = (s as unknown as { db: DatabaseSync }).db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").all()
        .map((r) => r.name);
      assert.deepEqual(idx, ["messages_expires"]);
      assert.deepEqual((await s.pending("bo", 0, 10)).map((m) => m.mid), ["o4"], "al's after bo's cursor");
      assert.deepEqual((await s.history("d:al:bo", 2, 0, 3)).map((m) => m.mid), ["o3", "o4", "o5"]);
      assert.equal(await s.storedBytes("al"), 0 + 2 + 4);
      assert.deepEqual(await s.seqOf("bo", "o3"), { seq: 4, ts: 3 });
      assert.equal((await s.appendMessages([msg("o2", "al", "bo")]))[0], null, "a resend of an old row");
      assert.equal(await s.unsendMessage("al", "o2"), 2);
      assert.deepEqual((await s.stats()).messages, 5);
    } finally {
      await s.close();
    }
  } finally {
    remove();
  }
});

Deno.test("SqliteStore: a mid is found by its hash and the row read: another mid of the same hash is not it", async () => {
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; !pair; i++) {
    const m = `c${i}`, o = seen.get(midHash(m));
    if (o !== undefined) pair = [o, m];
    else seen.set(midHash(m), m);
  }
  const s = new SqliteStore(":memory:");
  try {
    const [first] = await s.appendMessages([msg(pair[0], "al", "bo"), msg("z", "al", "bo")]);
    assert.equal(await s.seqOf("al", pair[1]), null);
    assert.equal(await s.unsendMessage("al", pair[1]), null);
    assert.deepEqual(await s.seqOf("al", pair[0]), { seq: first!.seq, ts: 10 });
  } finally {
    await s.close();
  }
});

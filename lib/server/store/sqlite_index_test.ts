/**
 * SqliteStore's in-memory message index (issue 37) against its table: after rolled-back batches,
 * unsends, retention and expiry sweeps, a store's answers equal those of the same file opened
 * again (its index rebuilt from the table); a database from before the index opens with it built.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "./sqlite_store.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { NewMessage } from "./store.ts";
import { midHash } from "./recent_mids.ts";

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

/** The store's answers equal those of its file opened again (an index rebuilt from the table). */
async function sameAsTable(s: SqliteStore, path: string, why: string) {
  const fresh = new SqliteStore(path);
  try {
    assert.deepEqual(await answers(s), await answers(fresh), why);
  } finally {
    await fresh.close();
  }
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

Deno.test("SqliteStore: a batch that fails midway leaves the index as the table (its rows taken out again)", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
  const s = await seeded(path);
  try {
    await s.appendMessages([msg("a1", "al", "bo"), roomMsg("r1", "cy")]);
    const before = await answers(s);
    // The last row breaks a NOT NULL constraint: the rows before it (the first statement's 16, a
    // room message among them) were inserted and indexed; then in a batch of three (one statement).
    const bad = { ...msg("xx", "bo", "al"), target: null as unknown as string };
    for (const n of [30, 2]) {
      const batch = Array.from(
        { length: n },
        (_, i) => i === 1 ? roomMsg(`x${i}`, "bo") : msg(`x${i}`, "al", "bo"),
      );
      await assert.rejects(async () => await s.appendMessages([...batch, bad]), /NOT NULL/);
      assert.deepEqual(await answers(s), before, `nothing of the failed batch of ${n + 1}`);
      await sameAsTable(s, path, "after the rollback");
    }
    // Their seqs are handed out again (the rollback undid AUTOINCREMENT too): the index takes them.
    const [again] = await s.appendMessages([msg("x0", "al", "bo")]);
    assert.equal(again?.seq, 3);
    assert.deepEqual((await s.pending("bo", 0, 10)).map((m) => m.mid), ["a1", "r1", "x0"]);
    await sameAsTable(s, path, "after the seqs were used again");
    // A batch of several statements (16 rows each), a resend among them: each row its own seq.
    const big = Array.from({ length: 40 }, (_, i) => msg(i === 20 ? "x0" : `y${i}`, "al", "bo"));
    const stored = (await s.appendMessages(big)).filter((m) => m !== null);
    assert.equal(stored.length, 39);
    assert.deepEqual(
      (await s.since(again!.seq, 100)).map((m) => [m.seq, m.mid]),
      stored.map((m) => [m.seq, m.mid]),
    );
  } finally {
    await s.close();
    Deno.removeSync(path);
  }
});

Deno.test("SqliteStore: unsend, retention and expiry take their rows out of the index", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
  const s = await seeded(path);
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
    await sameAsTable(s, path, "stored");
    assert.equal(await s.unsendMessage("bo", "d2"), 2);
    await sameAsTable(s, path, "after an unsend");
    assert.equal(await s.sweepMessages(5, 100), 2, "the two notes to self");
    await sameAsTable(s, path, "after retention");
    assert.equal(await s.sweepExpired(60, 100), 1);
    await sameAsTable(s, path, "after expiry");
    assert.equal((await s.stats()).messages, 3);
  } finally {
    await s.close();
    Deno.removeSync(path);
  }
});

Deno.test("SqliteStore: a database from before the message index opens with it built from the rows", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".db" });
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
    Deno.removeSync(path);
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

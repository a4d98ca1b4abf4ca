/**
 * The keys of older messages in the table (issue 73, sqlite_keys.ts): a store holding at most a few
 * messages in memory answers as one holding all of them, before and after unsends, sweeps and a
 * reopen (which reads only the rows above the keys' mark); a database filled from outside has its
 * keys moved once at open; resends of a message whose key moved are still caught.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "./sqlite_store.ts";
import type { NewMessage, Store } from "./store.ts";
import { tempDb } from "./temp_db_testing.ts";

const USERS = ["al", "bo", "cy"];
const CONVS = ["d:al:bo", "d:al:al", "d:bo:cy", "r:room", "b"];

function msg(i: number): NewMessage {
  const sender = USERS[i % 3]!, body = new Uint8Array(5 + (i % 7));
  if (i % 5 === 0) return { mid: `m${i}`, sender, kind: "room", target: "room", conv: "r:room", ts: i, body };
  if (i % 11 === 0) return { mid: `m${i}`, sender, kind: "broadcast", target: "", conv: "b", ts: i, body };
  const target = i % 13 === 0 ? sender : USERS[(i + 1) % 3]!, [x, y] = [sender, target].sort();
  return { mid: `m${i}`, sender, kind: "user", target, conv: `d:${x}:${y}`, ts: i, body };
}

async function answers(s: Store) {
  const { messages, bodyBytes } = await s.stats();
  const out: unknown[] = [messages, bodyBytes, await s.lastSeq()];
  for (const u of USERS) {
    out.push(await s.storedBytes(u));
    out.push((await s.pending(u, 0, 1000)).map((m) => m.seq));
    out.push((await s.pending(u, 40, 7)).map((m) => m.seq));
    out.push((await s.pending(u, 0, 1000, { cursor: `${u}/2`, sinceSeq: 10, own: true })).map((m) => m.seq));
  }
  for (const c of CONVS) {
    out.push((await s.history(c, 0, 0, 1000)).map((m) => m.mid));
    out.push((await s.history(c, 30, 20, 5, 40, 150)).map((m) => m.mid));
  }
  out.push((await s.since(0, 1000)).map((m) => m.seq));
  return out;
}

async function seedBoth(stores: Store[]) {
  for (const s of stores) {
    for (const u of USERS) await s.createUser({ name: u, hash: "h", role: "user", createdAt: 0 });
    await s.createRoom({
      name: "room",
      createdBy: "al",
      createdAt: 0,
      members: USERS.map((user) => ({ user, sinceSeq: 0, admin: false })),
    });
    for (let i = 1; i <= 200; i += 10) {
      await s.appendMessages(Array.from({ length: 10 }, (_, k) => msg(i + k)));
    }
    await s.ackMany("bo", [{ conv: "d:al:bo", seq: 60 }, { conv: "r:room", seq: 100 }]);
  }
}

Deno.test("keys moved into the table: the store answers as one holding every message in memory, after unsends, sweeps and a reopen", async () => {
  const db = tempDb();
  let few = new SqliteStore(db.path, { tailMax: 8 });
  const all = new SqliteStore(":memory:");
  try {
    await seedBoth([few, all]);
    assert.deepEqual(await answers(few), await answers(all), "after appends");
    for (const s of [few, all]) {
      assert.equal(await s.unsendMessage("al", "m3"), msg(3).body.length, "an old message unsent");
      assert.equal(await s.unsendMessage("cy", "m197"), msg(197).body.length, "a new one");
      assert.equal(await s.sweepMessages(25, 100) > 0, true, "retention took some");
    }
    assert.deepEqual(await answers(few), await answers(all), "after deletions");
    await few.close();
    few = new SqliteStore(db.path, { tailMax: 8 });
    assert.deepEqual(await answers(few), await answers(all), "reopened");
    // A resend of a message whose key is in the table (its window read from there) is caught.
    const again = await few.appendMessages([msg(120), msg(201)]);
    assert.equal(again[0], null, "a resend of m120");
    assert.equal(again[1]?.seq, 201);
  } finally {
    await few.close();
    await all.close();
    db.remove();
  }
});

Deno.test("a database filled from outside has its keys moved once at open (said), then starts read only the newest", async () => {
  const db = tempDb();
  try {
    const s = new SqliteStore(db.path);
    for (const u of USERS) await s.createUser({ name: u, hash: "h", role: "user", createdAt: 0 });
    await s.close();
    const raw = new DatabaseSync(db.path);
    const ins = raw.prepare(
      "INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (let i = 1; i <= 100; i++) {
      const m = { ...msg(i), kind: "user", target: "bo", sender: "al", conv: "d:al:bo" };
      ins.run(i, m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.body);
    }
    raw.close();
    const warned: string[] = [];
    const a = new SqliteStore(db.path, { tailMax: 16, warn: (e) => warned.push(e) });
    assert.deepEqual(warned, ["store.keyed"]);
    assert.ok(a.messagesInMemory() <= 16, `at most tailMax in memory: ${a.messagesInMemory()}`);
    assert.equal((await a.pending("bo", 0, 1000)).length, 100);
    assert.equal((await a.stats()).messages, 100);
    await a.close();
    const b = new SqliteStore(db.path, { tailMax: 16, warn: (e) => warned.push(e) });
    assert.deepEqual(warned, ["store.keyed"], "once");
    assert.ok(b.messagesInMemory() <= 16);
    assert.equal((await b.history("d:al:bo", 0, 0, 1000)).length, 100);
    await b.close();
  } finally {
    db.remove();
  }
});

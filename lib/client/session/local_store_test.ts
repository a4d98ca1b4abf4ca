/**
 * Local history at rest (issue 10, item 10): message and outbox text never reaches the client's
 * database file in clear, a sealed text cannot be moved to another row, history written in clear by
 * an older version is sealed on unlock (and gone from the file and its WAL), and the folder and
 * database files are private to the user. The folder's one change signal between processes
 * (`nextForeign`) looks on injected timers (ManualTimers), only while someone waits.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ensureHome } from "./home_dir.ts";
import { LocalStore, WATCH_MS } from "./local_store.ts";
import { ManualTimers } from "../../common/clock_testing.ts";
import { systemClock } from "../../common/clock.ts";
import type { ChatMessage } from "../backend.ts";

const key = () => crypto.getRandomValues(new Uint8Array(32));
const msg = (seq: number, text: string): ChatMessage => ({
  seq,
  mid: `m${seq}`,
  ts: 1000 + seq,
  from: "bob",
  to: { kind: "user", name: "alice" },
  text,
});

async function fileText(path: string): Promise<string> {
  let all = "";
  for (const f of [path, `${path}-wal`]) {
    all += new TextDecoder("latin1").decode(await Deno.readFile(f).catch(() => new Uint8Array()));
  }
  return all;
}

Deno.test("local history: message and outbox text are sealed in the database file, and read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const s = new LocalStore(path);
    s.unlock(key());
    s.save([msg(1, "history-secret-apricot"), msg(2, "history-secret-banana")]);
    s.addPending({ mid: "p1", ts: 5, to: { kind: "room", name: "team" }, text: "outbox-secret-cherry" });
    assert.equal(s.get(1)?.text, "history-secret-apricot");
    assert.equal(s.byMid("bob", "m2")?.text, "history-secret-banana");
    assert.deepEqual(s.list("alice", 0).map((m) => m.text), [
      "history-secret-apricot",
      "history-secret-banana",
    ]);
    assert.equal(s.recent("alice", 10).length, 2);
    assert.equal(s.pending("p1")?.text, "outbox-secret-cherry");
    assert.equal(s.pendingAll()[0]?.text, "outbox-secret-cherry");
    s.confirm({
      ...msg(3, "outbox-secret-cherry"),
      mid: "p1",
      from: "alice",
      to: { kind: "room", name: "team" },
    });
    assert.equal(s.get(3)?.text, "outbox-secret-cherry");
    const raw = await fileText(path);
    for (const secret of ["apricot", "banana", "cherry"]) {
      assert.ok(!raw.includes(secret), `${secret} is sealed`);
    }
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local history: a sealed text moved to another row, or a wrong key, does not open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const k = key();
    const s = new LocalStore(path);
    s.unlock(k);
    s.save([msg(1, "first"), msg(2, "second")]);
    s.db.exec("UPDATE messages SET text = (SELECT text FROM messages WHERE seq = 1) WHERE seq = 2");
    assert.equal(s.get(1)?.text, "first");
    assert.throws(() => s.get(2), /authenticate/);
    s.close();
    const other = new LocalStore(path);
    other.unlock(key());
    assert.throws(() => other.get(1), /authenticate/);
    other.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local history: text in clear from an older version is sealed on unlock, and gone from the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    new LocalStore(path).close();
    const db = new DatabaseSync(path);
    db.prepare(
      "INSERT INTO messages (seq, mid, ts, sender, kind, target, text) VALUES (7, 'm7', 1, 'bob', 'user', 'alice', ?)",
    )
      .run("legacy-clear-durian");
    db.prepare("INSERT INTO outbox (mid, ts, kind, target, text) VALUES ('p9', 2, 'user', 'bob', ?)")
      .run("legacy-clear-elder");
    db.close();
    const s = new LocalStore(path);
    s.unlock(key());
    assert.equal(s.get(7)?.text, "legacy-clear-durian");
    assert.equal(s.pending("p9")?.text, "legacy-clear-elder");
    const raw = await fileText(path);
    assert.ok(!raw.includes("durian") && !raw.includes("elder"), "old rows are sealed now");
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local history: an edited message's earlier text is sealed on unlock, and again under a new key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const s = new LocalStore(path);
    s.save([msg(3, "before-edit-fig")]);
    s.applyEdit(3, "after-edit-grape", 2000);
    const [k1, k2] = [key(), key()];
    s.unlock(k1);
    assert.deepEqual(s.editsOf(3), [{ at: 2000, text: "before-edit-fig" }]);
    assert.ok(!(await fileText(path)).includes("fig"), "the earlier text is sealed now");
    s.rekey(k2);
    s.close();
    const again = new LocalStore(path);
    again.unlock(k2);
    assert.deepEqual(again.editsOf(3), [{ at: 2000, text: "before-edit-fig" }]);
    assert.equal(again.get(3)?.text, "after-edit-grape");
    again.close();
    const old = new LocalStore(path);
    old.unlock(k1);
    assert.throws(() => old.editsOf(3), "the old key no longer opens it");
    old.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "client folder: 0700 even when it existed, database and WAL 0600",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const home = `${dir}/home`;
      await Deno.mkdir(home, { mode: 0o755 });
      await Deno.chmod(home, 0o755);
      await ensureHome(home);
      assert.equal((await Deno.stat(home)).mode! & 0o777, 0o700);
      const path = `${home}/alice@x.db`;
      await Deno.writeTextFile(path, "", { mode: 0o644 });
      await Deno.chmod(path, 0o644);
      await Deno.remove(path);
      const s = new LocalStore(path);
      s.unlock(key());
      s.save([msg(1, "x")]);
      for (const f of [path, `${path}-wal`]) assert.equal((await Deno.stat(f)).mode! & 0o777, 0o600, f);
      s.close();
      await Deno.chmod(path, 0o644);
      new LocalStore(path).close();
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "an existing 0644 file is made private");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("local store: waiting for another process's write lock gives up on the injected clock (folder_busy)", async () => {
  const dir = await Deno.makeTempDir();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const path = `${dir}/alice@x.db`;
    let t = 0;
    const s = new LocalStore(path, { now: () => (t += 31_000) }); // past the 30 s wait at once
    const other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE");
    const late = new Promise<never>((_, no) => {
      timer = setTimeout(() => no(new Error("waited on the wall clock")), 2000);
    });
    await assert.rejects(Promise.race([s.exclusive(() => Promise.resolve()), late]), { code: "folder_busy" });
    other.exec("ROLLBACK");
    other.close();
    s.close();
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local store: a folder another process keeps locked opens at once when its schema is current", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/alice@x.db`;
    const busy = new LocalStore(path);
    busy.db.exec("BEGIN IMMEDIATE"); // another process working under the folder's lock
    const t0 = Date.now();
    const second = new LocalStore(path); // was: 10 s of busy_timeout, then "database is locked"
    assert.ok(Date.now() - t0 < 2000, `opened after ${Date.now() - t0} ms`);
    second.close();
    busy.db.exec("ROLLBACK");
    busy.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local store: nextForeign tells a waiter of another handle's commit at the watcher's next look, on its timers", async () => {
  const dir = await Deno.makeTempDir();
  const timers = new ManualTimers();
  const path = `${dir}/alice@x.db`;
  const a = new LocalStore(path, systemClock, timers), b = new LocalStore(path);
  try {
    assert.equal(timers.pending, 0, "nobody waits: no timer");
    let told = 0;
    const off = a.nextForeign(() => told++);
    assert.equal(timers.pending, 1, "one timer while someone waits");
    timers.advance(WATCH_MS * 10);
    assert.equal(told, 0, "no commit elsewhere: nothing told");
    assert.equal(timers.pending, 1, "still one timer, not one per look");
    b.save([msg(1, "hi")]); // another connection: another process of the folder
    assert.equal(told, 0, "told at the next look, not before");
    timers.advance(WATCH_MS);
    assert.equal(told, 1);
    assert.equal(timers.pending, 0, "told once, the waiter gone: no timer");
    off();
    const again = a.nextForeign(() => told++);
    a.save([msg(2, "mine")]); // this process's own commit is no foreign change
    timers.advance(WATCH_MS * 3);
    assert.equal(told, 1);
    again();
    assert.equal(timers.pending, 0, "the last waiter gone: the timer cleared");
    assert.ok(timers.asked.every((ms) => ms === WATCH_MS));
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

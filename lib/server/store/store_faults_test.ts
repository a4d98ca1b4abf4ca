/**
 * The embedded store under injected faults (issue 68): the files cut or flipped as a crash or a
 * disk would leave them, a full disk (SQLite's page cap), an I/O error at commit (a node:sqlite
 * error of SQLITE_IOERR raised from the connection), and an older version's message log damaged in
 * each way. Each case asserts: the store opens or refuses naming the reason; nothing acknowledged is
 * dropped without a line; nothing is served garbled; no seq is given twice; writes after recovery work.
 */
import assert from "node:assert/strict";
import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite_store.ts";
import { StoreBroken, StoreFull } from "./store_errors.ts";
import { checkMessageRows } from "./sqlite_check.ts";
import { encodeHeader, RecordWriter } from "./segment_record_testing.ts";
import { messageLogDir } from "./segment_log.ts";
import type { NewMessage, StoredMessage } from "./store.ts";

const enc = new TextEncoder();
const body = (i: number) => enc.encode(`sealed-body-${String(i).padStart(6, "0")}-${"x".repeat(40)}`);
const dm = (i: number, extra: Partial<NewMessage> = {}): NewMessage => ({
  mid: `mid-${i}`,
  sender: "al",
  kind: "user",
  target: "bo",
  conv: "d:al:bo",
  ts: 1_000 + i,
  body: body(i),
  ...extra,
});

/** A store in a fresh folder, its warnings kept; `open` opens it again (the same path). */
function harness(o: SqliteStoreOptions = {}) {
  const dir = Deno.makeTempDirSync({ prefix: "parley-faults-" });
  const path = `${dir}/parley.db`;
  const warned: { event: string; fields: Record<string, unknown> }[] = [];
  const open = (p = path, more: SqliteStoreOptions = {}) =>
    new SqliteStore(p, { warn: (event, fields) => warned.push({ event, fields }), ...o, ...more });
  return { dir, path, warned, open, remove: () => Deno.removeSync(dir, { recursive: true }) };
}

async function seed(s: SqliteStore, n: number): Promise<StoredMessage[]> {
  for (const u of ["al", "bo"]) await s.createUser({ name: u, hash: "h", role: "user", createdAt: 1 });
  const out: StoredMessage[] = [];
  for (let i = 0; i < n; i++) out.push((await s.appendMessages([dm(i)]))[0]!);
  return out;
}

/** Removes `f` unless it is gone already. */
function removeIfThere(f: string): void {
  try {
    Deno.removeSync(f);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

const dbOf = (s: SqliteStore) => (s as unknown as { db: DatabaseSync }).db;
const find = (hay: Uint8Array, needle: Uint8Array, from = 0) => Buffer.from(hay).indexOf(needle, from);

Deno.test("store faults: the WAL cut at offsets through its last commit — every earlier commit kept, the last whole or absent, no seq given twice", async () => {
  const h = harness();
  const s = h.open();
  try {
    const first = await seed(s, 20);
    const before = Deno.statSync(`${h.path}-wal`).size;
    const [last] = await s.appendMessages([dm(99)]);
    const after = Deno.statSync(`${h.path}-wal`).size;
    assert.ok(after > before, `the last commit wrote ${after - before} bytes of WAL`);
    const db = Deno.readFileSync(h.path), wal = Deno.readFileSync(`${h.path}-wal`);
    // Every byte of the first frame's header and of the commit's end, then a stride through the pages.
    const cuts = new Set<number>();
    for (let k = before; k < before + 64; k++) cuts.add(k);
    for (let k = after - 64; k < after; k++) cuts.add(k);
    for (let k = before; k < after; k += 61) cuts.add(k);
    for (const cut of cuts) {
      const p = `${h.dir}/cut.db`;
      Deno.writeFileSync(p, db);
      Deno.writeFileSync(`${p}-wal`, wal.subarray(0, cut));
      const c = h.open(p, { check: true });
      try {
        const rows = await c.since(0, 100);
        assert.deepEqual(rows.slice(0, 20).map((r) => [r.seq, r.mid]), first.map((r) => [r.seq, r.mid]));
        for (const r of rows) assert.deepEqual(r.body, r.mid === "mid-99" ? body(99) : body(r.seq - 1));
        assert.ok(rows.length === 20 || rows.length === 21, `cut at ${cut}: ${rows.length} rows`);
        const [next] = await c.appendMessages([dm(100)]);
        assert.ok(next!.seq > rows[rows.length - 1]!.seq, `cut at ${cut}: new seq ${next!.seq}`);
        if (rows.length === 21) assert.equal(rows[20]!.seq, last!.seq);
      } finally {
        await c.close();
        for (const f of [p, `${p}-wal`, `${p}-shm`]) removeIfThere(f); // (a clean close removed the WAL)
      }
    }
  } finally {
    await s.close();
    h.remove();
  }
});

Deno.test("store faults: a flipped bit in a row's body, names or CRC is found on reading — left out, said, listed by the check; the rest served", async () => {
  for (const part of ["body", "mid", "crc"] as const) {
    const h = harness();
    const s = h.open();
    await seed(s, 10);
    await s.close();
    const file = Deno.readFileSync(h.path); // closed: the WAL is checkpointed into the file
    const target = dm(4); // seq 5
    let at: number;
    if (part === "body") at = find(file, target.body) + 7;
    else if (part === "mid") at = find(file, enc.encode("mid-4")) + 4;
    else {
      // The CRC is the row's last column, after its (NULL) expires: the 4 bytes after the body.
      at = find(file, target.body) + target.body.length + 2;
    }
    assert.ok(at > 0, part);
    file[at]! ^= 0x10;
    Deno.writeFileSync(h.path, file);
    const c = h.open(h.path, { check: true });
    try {
      const rows = await c.since(0, 100);
      assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3, 4, 6, 7, 8, 9, 10], `${part}: seq 5 left out`);
      await c.since(0, 100); // read again: said once
      assert.equal(
        h.warned.filter((w) => w.event === "store.damaged_row" && w.fields.seq === 5).length,
        1,
        part,
      );
      assert.deepEqual(checkMessageRows(dbOf(c)), { rows: 10, damaged: [5], unreadable: [] }, part);
      const [next] = await c.appendMessages([dm(10)]);
      assert.equal(next!.seq, 11, `${part}: no seq given twice`);
    } finally {
      await c.close();
      h.remove();
    }
  }
});

Deno.test("store faults: a damaged page (a B-tree page header) refuses the start, naming the file and the check", async () => {
  const h = harness();
  const s = h.open();
  await seed(s, 200);
  await s.close();
  const file = Deno.readFileSync(h.path);
  const page = 4096, pages = file.length / page;
  // The messages table's leaf pages are the last ones written: flip the page-type byte of one.
  file[(pages - 2) * page]! ^= 0xff;
  Deno.writeFileSync(h.path, file);
  assert.throws(() => h.open(h.path, { check: true }), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`${h.path} is damaged \\(SQLite quick_check: .+\\): run \`parley-server admin check\``),
    );
    return true;
  });
  h.remove();
});

Deno.test("store faults: a database past the size checked whole at open (issue 73) still refuses a damaged page among the newest messages, which its start reads", async () => {
  const h = harness();
  const s = h.open();
  await seed(s, 200);
  await s.close();
  const file = Deno.readFileSync(h.path);
  const page = 4096, pages = file.length / page;
  file[(pages - 2) * page]! ^= 0xff;
  Deno.writeFileSync(h.path, file);
  assert.throws(() => h.open(h.path, { check: true, checkWholeUpTo: 0 }), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(`${h.path} is damaged \\(SQLite quick_check: .+\\): run \`parley-server admin check\``),
    );
    return true;
  });
  h.remove();
});

Deno.test("store faults: a full disk refuses the insert whole (StoreFull), reads go on, and writes resume once there is room", async () => {
  const h = harness();
  const s = h.open();
  try {
    await seed(s, 3);
    const pages = (dbOf(s).prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
    dbOf(s).exec(`PRAGMA max_page_count=${pages}`);
    const big = dm(50, { body: new Uint8Array(64_000) });
    await assert.rejects(() => s.appendMessages([dm(10), big]), StoreFull);
    assert.deepEqual(
      (await s.since(0, 10)).map((r) => r.seq),
      [1, 2, 3],
      "reads go on, nothing of it stored",
    );
    assert.equal(await s.lastSeq(), 3, "healthy: a full disk is not a broken store");
    dbOf(s).exec(`PRAGMA max_page_count=1073741823`);
    const [ok] = await s.appendMessages([big]);
    assert.ok(ok!.seq > 3);
  } finally {
    await s.close();
    h.remove();
  }
});

Deno.test("store faults: an I/O error at commit breaks the store once — told, every later write refused, the health check fails, reads go on", async () => {
  const h = harness();
  const broken: StoreBroken[] = [];
  const s = h.open(h.path, { onBroken: (e) => broken.push(e) });
  try {
    await seed(s, 3);
    const db = dbOf(s), exec = db.exec.bind(db);
    db.exec = (sql: string) => {
      if (sql === "COMMIT") {
        exec("ROLLBACK");
        throw Object.assign(new Error("disk I/O error"), {
          code: "ERR_SQLITE_ERROR",
          errcode: 10 | (4 << 8),
        });
      }
      return exec(sql);
    };
    await assert.rejects(() => s.appendMessages([dm(10)]), StoreBroken);
    db.exec = exec;
    await assert.rejects(() => s.appendMessages([dm(11)]), StoreBroken, "no write after it");
    await assert.rejects(() => s.ackMany("bo", [{ conv: "d:al:bo", seq: 1 }]), StoreBroken);
    await assert.rejects(() => s.lastSeq(), StoreBroken, "the health check says so");
    assert.equal(broken.length, 1, "told once");
    assert.deepEqual((await s.since(0, 10)).map((r) => r.seq), [1, 2, 3], "reads go on");
  } finally {
    await s.close();
  }
  // A restart recovers: what was committed is there, and seqs go on above it.
  const again = h.open();
  try {
    assert.deepEqual((await again.since(0, 10)).map((r) => r.seq), [1, 2, 3]);
    const [next] = await again.appendMessages([dm(12)]);
    assert.ok(next!.seq >= 4);
  } finally {
    await again.close();
    h.remove();
  }
});

Deno.test("store faults: cursors above the table's mark (an older copy of the database) move the mark up, said once: no seq given twice", async () => {
  const h = harness();
  const s = h.open();
  await seed(s, 3);
  await s.ackMany("bo", [{ conv: "d:al:bo", seq: 40 }]); // bo saw seq 40 elsewhere
  await s.close();
  const c = h.open();
  try {
    const [next] = await c.appendMessages([dm(7)]);
    assert.equal(next!.seq, 41);
    assert.equal(h.warned.filter((w) => w.event === "store.seq_mark").length, 1);
    assert.deepEqual(h.warned.find((w) => w.event === "store.seq_mark")!.fields.seen, 40);
  } finally {
    await c.close();
    h.remove();
  }
});

Deno.test("store faults: an erased message (expired, unsent) leaves every file of the store after the scrub; a backup after it holds none", async () => {
  const h = harness();
  const s = h.open();
  try {
    await seed(s, 5);
    const secret = enc.encode("the-expiring-sealed-body-0123456789");
    const secret2 = enc.encode("the-unsent-sealed-body-9876543210");
    await s.appendMessages([dm(20, { body: secret, expires: 5_000 }), dm(21, { body: secret2 })]);
    const files = () => [h.path, `${h.path}-wal`, `${h.path}-shm`].map((f) => Deno.readFileSync(f));
    assert.ok(files().some((b) => find(b, secret) >= 0), "the check sees the stored body");
    assert.equal(await s.sweepExpired(6_000, 100), 1);
    assert.notEqual(await s.unsendMessage("al", "mid-21"), null);
    await s.scrub();
    for (const [i, b] of files().entries()) {
      assert.equal(find(b, secret), -1, `the expired body is in file ${i}`);
      assert.equal(find(b, secret2), -1, `the unsent body is in file ${i}`);
    }
    assert.equal((await s.since(0, 100)).length, 5);
    // A backup taken now (SQLite's online backup, as backup.ts takes it) copies no erased body.
    const conn = new DatabaseSync(h.path);
    try {
      await sqliteBackup(conn, `${h.dir}/copy.db`);
    } finally {
      conn.close();
    }
    const copy = Deno.readFileSync(`${h.dir}/copy.db`);
    assert.ok(find(copy, body(2)) >= 0, "the backup holds what is stored");
    assert.equal(find(copy, secret), -1, "the backup holds the expired body");
    assert.equal(find(copy, secret2), -1, "the backup holds the unsent body");
  } finally {
    await s.close();
    h.remove();
  }
});

/** An older version's message log: segments of entries and tombstones, written as 0.13–0.20 did. */
function writeOldLog(dir: string, segs: { base: number; records: (w: RecordWriter) => void }[]): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  return segs.map(({ base, records }) => {
    const w = new RecordWriter();
    records(w);
    const path = `${dir}/${String(base + 1).padStart(16, "0")}.log`;
    Deno.writeFileSync(path, new Uint8Array([...encodeHeader(base), ...w.bytes]));
    return path;
  });
}
const entry = (seq: number) => ({ ...dm(seq - 1), seq });

Deno.test("store faults: an older version's message log is imported whole — tombstones kept, the mark above every seq, the folder gone", async () => {
  const h = harness();
  const dir = messageLogDir(h.path);
  writeOldLog(dir, [
    { base: 0, records: (w) => [1, 2, 3, 4].forEach((q) => w.entry(entry(q))) },
    { base: 4, records: (w) => (w.entry(entry(5)), w.tombstone([2, 9]), w.entry(entry(6))) },
  ]);
  const s = h.open();
  try {
    const rows = await s.since(0, 100);
    assert.deepEqual(rows.map((r) => r.seq), [1, 3, 4, 5, 6]);
    assert.deepEqual(rows[2]!.body, body(3));
    const [next] = await s.appendMessages([dm(70)]);
    assert.equal(next!.seq, 10, "above the highest seq the log named (a tombstone's 9)");
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
    assert.ok(h.warned.some((w) => w.event === "store.imported" && w.fields.messages === 5));
  } finally {
    await s.close();
  }
  const again = h.open();
  assert.equal((await again.since(0, 100)).length, 6, "a reopen imports nothing twice");
  await again.close();
  // Killed between the import's commit and the folder's deletion: the folder is back, its rows are in.
  writeOldLog(dir, [{ base: 0, records: (w) => [1, 2].forEach((q) => w.entry(entry(q))) }]);
  const third = h.open();
  try {
    assert.deepEqual(
      (await third.since(0, 100)).map((r) => r.seq),
      [1, 3, 4, 5, 6, 10],
      "nothing imported twice",
    );
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound, "the leftover folder is deleted");
  } finally {
    await third.close();
    h.remove();
  }
});

Deno.test("store faults: the old log's torn tail is cut and said; a flipped bit with sound records after it, or a damaged header, refuses — naming file, byte and seqs — and leaves the files as they were", async () => {
  const good = (h: ReturnType<typeof harness>) =>
    writeOldLog(messageLogDir(h.path), [
      { base: 0, records: (w) => [1, 2, 3].forEach((q) => w.entry(entry(q))) },
      { base: 3, records: (w) => [4, 5, 6, 7].forEach((q) => w.entry(entry(q))) },
    ]);
  // A torn tail: the newest segment cut in its last record.
  {
    const h = harness();
    const [, newest] = good(h);
    const b = Deno.readFileSync(newest!);
    Deno.writeFileSync(newest!, b.subarray(0, b.length - 9));
    const s = h.open();
    assert.deepEqual((await s.since(0, 100)).map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
    const cut = h.warned.find((w) => w.event === "store.import_cut");
    assert.ok(cut && cut.fields.file === newest, "the cut is said");
    await s.close();
    h.remove();
  }
  // A flipped bit in the newest segment's second record, sound ones after it; and in a closed segment.
  for (const which of [1, 0]) {
    const h = harness();
    const paths = good(h);
    const p = paths[which]!, b = Deno.readFileSync(p);
    const at = find(b, body(which ? 4 : 1)) + 3; // seq 5's body (newest) or seq 2's (closed)
    b[at]! ^= 1;
    Deno.writeFileSync(p, b);
    const before = paths.map((f) => Deno.readFileSync(f));
    assert.throws(() => h.open(), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`${p}: bad record at byte \\d+ \\(after seq ${which ? 4 : 1}\\): CRC mismatch`),
      );
      return true;
    });
    paths.forEach((f, i) => assert.deepEqual(Deno.readFileSync(f), before[i], `${f} untouched`));
    h.remove();
  }
  // The newest segment's header damaged while records follow it.
  {
    const h = harness();
    const [, newest] = good(h);
    const b = Deno.readFileSync(newest!);
    b[9]! ^= 4;
    Deno.writeFileSync(newest!, b);
    assert.throws(() => h.open(), new RegExp(`${newest}: bad segment header at byte 0: header CRC mismatch`));
    assert.equal(Deno.readFileSync(newest!).length, b.length, "not unlinked");
    h.remove();
  }
});

Deno.test("store faults: node:sqlite's errors are told apart with or without their code (a real full disk's carries none)", async () => {
  const { classifySqliteError } = await import("./store_errors.ts");
  const plain = (message: string) => Object.assign(new Error(message), { code: "ERR_SQLITE_ERROR" });
  assert.ok(classifySqliteError(plain("database or disk is full")) instanceof StoreFull);
  assert.ok(classifySqliteError(Object.assign(plain("x"), { errcode: 13 })) instanceof StoreFull);
  assert.ok(classifySqliteError(plain("disk I/O error")) instanceof StoreBroken);
  assert.ok(
    classifySqliteError(Object.assign(plain("x"), { errcode: 10 | (4 << 8) })) instanceof StoreBroken,
  );
  assert.ok(classifySqliteError(plain("database disk image is malformed")) instanceof StoreBroken);
  const other = plain("UNIQUE constraint failed: messages.seq");
  assert.equal(classifySqliteError(other), other, "a bug stays itself");
});

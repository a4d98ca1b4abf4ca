/**
 * `Store` on embedded SQLite (`node:sqlite`), WAL mode, `synchronous=FULL`, `secure_delete=ON`, so
 * that a message acknowledged to its sender survives `kill -9` and a deleted one leaves the file.
 * Messages are rows of the `messages` table (each with a CRC-32 of its columns, checked on every
 * read), found by table_messages.ts (the newest in memory, older ones by their keys' chunks in
 * sqlite_keys.ts). This file holds messages' SQL side (inserts with the acks in one transaction,
 * reads, deletes, sweeps' recipients), the high-water check of seqs at open, the import of an older
 * version's message log (segment_import.ts) and rooms; sqlite_accounts.ts the rest; sqlite_base.ts
 * the connection. These, sqlite_keys.ts, sqlite_check.ts (`admin check`, `admin salvage`) and the
 * migrations are the only places that speak SQL to SQLite.
 *
 * Faults (issue 68): an insert the disk cannot take (SQLITE_FULL) rolls back whole and throws
 * `StoreFull`; the store takes writes again once there is room. Any I/O error or damage throws
 * `StoreBroken` and the store takes no more writes (`onBroken` is told once: the server stops, and
 * its next start recovers from the WAL). Deleted rows are overwritten with zeros (`secure_delete`),
 * and `scrub` truncates the WAL after deletions, so no copy of them stays in the data folder.
 */
import { type Row } from "./sqlite_base.ts";
import { rowCrc } from "./row_crc.ts";
import { SqliteAccounts } from "./sqlite_accounts.ts";
import { type MessageRows, type StoredMeta, TableMessages, TAIL_MAX } from "./table_messages.ts";
import { SqliteKeys } from "./sqlite_keys.ts";
import { hasSegmentLog, importSegmentLog, removeSegmentLog, type Skipped } from "./segment_import.ts";
import { messageLogDir } from "./segment_log.ts";
import { classifySqliteError, StoreBroken } from "./store_errors.ts";
import type {
  AckSet,
  NewMessage,
  OpenRoomRow,
  QueueOwner,
  RoomMember,
  RoomRow,
  Store,
  StoredMessage,
  StoreStats,
  TargetKind,
} from "./store.ts";

/** A message as reads answer it (no `expires`, as the table's rows were always read). */
const toMsg = (r: Row): StoredMessage => ({
  seq: r.seq as number,
  mid: r.mid as string,
  sender: r.sender as string,
  kind: r.kind as StoredMessage["kind"],
  target: r.target as string,
  conv: r.conv as string,
  ts: r.ts as number,
  body: r.body as Uint8Array,
});

/** A row of the table with its `expires` (absent when none). */
export const rowOf = (r: Row): StoredMessage => ({
  ...toMsg(r),
  expires: (r.expires as number | null) ?? undefined,
});

/**
 * The highest seq any table of the store names (rows, cursors, room members, accounts, devices), as
 * one statement (`n`): the seq mark may not be below it (`#highWater`; `admin check`, sqlite_check.ts).
 */
export const SEQ_SEEN_SQL = `SELECT MAX(
  COALESCE((SELECT MAX(seq) FROM messages), 0), COALESCE((SELECT MAX(seq) FROM cursors), 0),
  COALESCE((SELECT MAX(since_seq) FROM room_members), 0), COALESCE((SELECT MAX(created_seq) FROM users), 0),
  COALESCE((SELECT MAX(since_seq) FROM devices), 0)) AS n`;

/** The table's rows without their bodies, a page at a time in seq order: indexed at open. */
const INDEX_PAGE = `SELECT seq, mid, sender, kind, target, conv, ts, expires, LENGTH(body) FROM messages
  WHERE seq > ? ORDER BY seq LIMIT 4096`;
type IndexRow = [number, string, string, TargetKind, string, string, number, number | null, number];

/** Rows by seq, at most `READ_MANY` in one statement, their columns in this order (`#readRows`: arrays). */
const readSql = (n: number) =>
  `SELECT seq, mid, sender, kind, target, conv, ts, body, expires, crc FROM messages WHERE seq IN (${
    Array(n).fill("?").join(", ")
  })`;
/** Seqs a read asks for in one statement (a shorter list is padded with its last seq: one statement for all). */
const READ_MANY = 64;
const READ_ONE = readSql(1), READ_MANY_SQL = readSql(READ_MANY);
type ReadRow = [
  number,
  string,
  string,
  TargetKind,
  string,
  string,
  number,
  Uint8Array,
  number | null,
  number | null,
];

/** An INSERT of `n` message rows in one statement. */
const insertOf = (n: number) =>
  "INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body, expires, crc) VALUES " +
  Array(n).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
const INSERT = insertOf(1);
/**
 * Rows per INSERT statement, largest first: one call into SQLite for many rows costs less than one
 * each (a micro-bench of 100,000 rows in batches of 20: ~1 µs of CPU a row less at 32 than at 1).
 */
const INSERT_CHUNKS = [32, 8, 1] as const;
const INSERT_SQL = new Map(INSERT_CHUNKS.map((n) => [n, insertOf(n)]));

/** How `SqliteStore` is opened. */
export interface SqliteStoreOptions {
  /**
   * Open the messages (and index them) only when a message is first asked for, not now: for
   * `admin` commands, which touch accounts only and may run beside a server.
   */
  lazyMessages?: boolean;
  /** Run SQLite's `quick_check` at open and refuse a damaged database (the server's start). */
  check?: boolean;
  /** The check at open covers the whole file up to this size (sqlite_base.ts `FULL_CHECK_BYTES`; tests set it). */
  checkWholeUpTo?: number;
  /** What the store did on its own that an operator must hear of (a WARN line). */
  warn?: (event: string, fields: Record<string, unknown>) => void;
  /** The store broke (an I/O error or damage): it takes no more writes. Told once. */
  onBroken?: (e: StoreBroken) => void;
  /**
   * `admin salvage`: an older version's message log is imported past its damage, each damaged span
   * told here, instead of refused.
   */
  salvageLog?: (s: Skipped) => void;
  /** Messages held in memory at most (table_messages.ts `TAIL_MAX`; tests move keys sooner). */
  tailMax?: number;
}

export class SqliteStore extends SqliteAccounts implements Store {
  #opened: TableMessages | null = null;
  #broken: StoreBroken | null = null;
  /** Rows were deleted since the WAL was last truncated: `scrub` has work. */
  #scrubPending = false;
  readonly #warn: NonNullable<SqliteStoreOptions["warn"]>;
  readonly #onBroken: NonNullable<SqliteStoreOptions["onBroken"]>;
  readonly #salvageLog: SqliteStoreOptions["salvageLog"];
  readonly #tailMax: number;
  /** The messages: indexed at the first use (at once unless `lazyMessages`). */
  get #msgs(): TableMessages {
    return this.#opened ??= this.#openMessages();
  }

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    super(path, opts.check, opts.checkWholeUpTo);
    this.#warn = opts.warn ?? (() => {});
    this.#onBroken = opts.onBroken ?? (() => {});
    this.#salvageLog = opts.salvageLog;
    this.#tailMax = opts.tailMax ?? TAIL_MAX;
    if (opts.lazyMessages) return;
    try {
      this.#opened = this.#openMessages();
    } catch (e) {
      // A damaged page among the newest rows, which the start reads (a large database's check at open
      // leaves the messages' tables to them): refused as the check refuses.
      this.db.close();
      throw this.damaged(e);
    }
  }

  #openMessages(): TableMessages {
    this.#importOldLog();
    const keys = new SqliteKeys((sql) => this.q(sql)), upto = keys.upto(), t = performance.now();
    const o = { upto, totals: keys.totals(), names: keys.names(), highSeq: this.#highWater() };
    const damaged = (seq: number) => this.#damaged(seq);
    const msgs = new TableMessages(this.#rowsWith(keys), this.#scan(upto), o, damaged, this.#tailMax);
    if (msgs.movedAtOpen > 0) {
      this.#warn("store.keyed", {
        messages: msgs.movedAtOpen,
        upto: msgs.upto,
        ms: Math.round(performance.now() - t),
        hint: "the keys of older messages moved into the database, once: later starts read only the newest",
      });
    }
    return msgs;
  }

  /** Damaged rows said already (each said once a process: a queue may read one at every sync). */
  readonly #saidDamaged = new Set<number>();

  /** A row failed its check on reading: said once (the row is left out of every answer). */
  #damaged(seq: number): void {
    if (this.#saidDamaged.has(seq) || this.#saidDamaged.size >= 10_000) return;
    this.#saidDamaged.add(seq);
    this.#warn("store.damaged_row", {
      seq,
      hint: "this message's row fails its check (a damaged page): it is not served; " +
        "`parley-server admin check` lists every one, `admin salvage` moves past them",
    });
  }

  /**
   * The next seq goes above every seq the data folder has seen: the table's AUTOINCREMENT mark, and
   * every cursor, room member, account and device (a database put back from an older copy, or rows
   * lost to damage, would otherwise give a seq twice: issue 68 item 2). Said when it had to move.
   */
  #highWater(): number {
    const n = (sql: string) => Number((this.q(sql).get() as Row | undefined)?.n ?? 0);
    const mark = n("SELECT seq AS n FROM sqlite_sequence WHERE name = 'messages'");
    const seen = n(SEQ_SEEN_SQL);
    if (seen > mark) {
      this.#warn("store.seq_mark", {
        mark,
        seen,
        hint:
          "seqs above the database's mark were seen (cursors, members, accounts or devices): new seqs start above them",
      });
      this.#setMark(seen);
    }
    return Math.max(mark, seen);
  }

  #setMark(seq: number): void {
    this.tx(() => {
      const up = this.q("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'messages'").run(seq);
      if (Number(up.changes) === 0) {
        this.q("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)").run(seq);
      }
    });
  }

  /**
   * An older version's message log beside the database (0.13–0.20): its live entries become rows in
   * one transaction, with the mark above its highest seq; the folder is deleted once that committed.
   * Damage that is not a torn tail refuses (segment_import.ts), naming the file and byte.
   */
  #importOldLog(): void {
    if (this.path === ":memory:") return;
    const dir = messageLogDir(this.path);
    if (!hasSegmentLog(dir)) return;
    const done = this.q("SELECT v FROM server_meta WHERE k = 'log_imported'").get() as Row | undefined;
    if (!done) {
      const ins = this.q(INSERT);
      const got = this.tx(() => {
        const r = importSegmentLog(dir, (e) => {
          const crc = rowCrc(e);
          ins.run(e.seq, e.mid, e.sender, e.kind, e.target, e.conv, e.ts, e.body, e.expires ?? null, crc);
        }, this.#salvageLog);
        this.q("INSERT OR REPLACE INTO server_meta (k, v) VALUES ('log_imported', ?)").run(String(r.entries));
        return r;
      });
      this.#setMark(got.highSeq);
      if (got.cut) {
        this.#warn("store.import_cut", {
          ...got.cut,
          hint: "a torn write at the log's end (never acknowledged)",
        });
      }
      this.#warn("store.imported", { from: dir, messages: got.entries, highSeq: got.highSeq });
    }
    removeSegmentLog(dir);
  }

  /**
   * The table's rows, pages of arrays (`iterate()`, and rows as objects, took three times as long:
   * ~0.36 s per 100,000 rows against ~0.12 s).
   */
  *#scan(from: number): Generator<StoredMeta> {
    const page = this.db.prepare(INDEX_PAGE);
    // Deno's node:sqlite has it (as Node's), its type declarations not yet.
    (page as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    for (let after = from;;) {
      const rows = page.all(after) as unknown as IndexRow[];
      for (const [seq, mid, sender, kind, target, conv, ts, expires, bodyBytes] of rows) {
        yield { seq, mid, sender, kind, target, conv, ts, expires, bodyBytes };
      }
      if (rows.length === 0) return;
      after = rows[rows.length - 1]![0];
    }
  }

  /**
   * The rows of `seqs` by seq (absent: not stored), as arrays (node:sqlite's row objects are slow to
   * look properties up on) and up to `READ_MANY` a statement (one call into SQLite each): sync and
   * history read every row they send through it.
   */
  #readRows(seqs: readonly number[]): Map<number, ReadRow> {
    const got = new Map<number, ReadRow>();
    for (let i = 0; i < seqs.length; i += READ_MANY) {
      const part = seqs.slice(i, i + READ_MANY);
      const st = this.q(part.length === 1 ? READ_ONE : READ_MANY_SQL);
      (st as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
      while (part.length > 1 && part.length < READ_MANY) part.push(part[part.length - 1]!);
      for (const r of st.all(...part) as unknown as ReadRow[]) got.set(r[0], r);
    }
    return got;
  }

  /** The table's side of the messages (see `MessageRows`). */
  #rowsWith(keys: SqliteKeys): MessageRows {
    return {
      insert: (rows, acks) => this.#write(() => this.#insert(rows, acks)),
      read: (seqs, check = true) => {
        const got = this.#readRows(seqs);
        return seqs.map((seq) => {
          const r = got.get(seq);
          if (!r) return undefined;
          const [, mid, sender, kind, target, conv, ts, body, expires, crc] = r;
          const m: StoredMessage = { seq, mid, sender, kind, target, conv, ts, body };
          return !check || crc == null || rowCrc(m, expires) === Number(crc) ? m : null;
        });
      },
      delete: (seqs, old) => {
        const del = this.q("DELETE FROM messages WHERE seq = ?");
        this.#write(() =>
          this.tx(() => {
            for (const seq of seqs) del.run(seq);
            for (const o of old) keys.drop(o.seq, o.lists, o.sender, o.bytes);
          })
        );
        this.#scrubPending = true;
      },
      moveKeys: (t, names, namesFrom, upto) =>
        this.#write(() => this.#relaxed(() => keys.keep(t, names, namesFrom, upto))),
      places: (after, limit) =>
        (this.q("SELECT seq, ts FROM messages WHERE seq > ? ORDER BY seq LIMIT ?").all(after, limit) as Row[])
          .map((r) => ({ seq: r.seq as number, ts: r.ts as number })),
      exists: (seq) => this.q("SELECT 1 AS x FROM messages WHERE seq = ?").get(seq) !== undefined,
      expired: (now, limit) =>
        (this.q("SELECT seq FROM messages WHERE expires IS NOT NULL AND expires <= ? LIMIT ?").all(
          now,
          limit,
        ) as Row[])
          .map((r) => r.seq as number),
      keys,
    };
  }

  /**
   * `fn` in a write transaction whose commit does not wait for fsync (WAL, synchronous=NORMAL): what it
   * writes can be made again from the rows (acks: a redelivery; keys: rows above the mark are read
   * at the next start), and a later durable commit carries it to the disk.
   */
  #relaxed<T>(fn: () => T): T {
    this.db.exec("PRAGMA synchronous=NORMAL");
    try {
      return this.tx(fn);
    } finally {
      this.db.exec("PRAGMA synchronous=FULL");
    }
  }

  #insert(rows: readonly StoredMessage[], acks: readonly AckSet[]): void {
    if (rows.length === 0) return this.#ackOnly(acks);
    this.tx(() => {
      for (const a of acks) this.#acks(a.user, a.acks);
      for (let i = 0; i < rows.length;) {
        const n = INSERT_CHUNKS.find((c) => c <= rows.length - i)!;
        const args: (string | number | Uint8Array | null)[] = new Array(10 * n);
        for (let k = 0; k < n; k++) {
          const m = rows[i + k]!, at = 10 * k;
          args[at] = m.seq, args[at + 1] = m.mid, args[at + 2] = m.sender, args[at + 3] = m.kind;
          args[at + 4] = m.target, args[at + 5] = m.conv, args[at + 6] = m.ts, args[at + 7] = m.body;
          args[at + 8] = m.expires ?? null, args[at + 9] = rowCrc(m);
        }
        this.q(INSERT_SQL.get(n)!).run(...args); // (n ≤ 32: a bounded spread)
        i += n;
      }
    });
  }

  /** Runs a write: refused once the store broke; a failure classified (store_errors.ts). */
  #write<T>(fn: () => T): T {
    if (this.#broken) throw this.#broken;
    try {
      return fn();
    } catch (e) {
      const c = classifySqliteError(e);
      if (c instanceof StoreBroken) {
        this.#broken = c;
        this.#onBroken(c);
      }
      throw c;
    }
  }

  /** Messages whose keys are held in memory (the newest; the rest are in the table: issue 73). */
  messagesInMemory(): number {
    return this.#msgs.inMemory;
  }

  protected topSeq(): number {
    return this.#msgs.top;
  }

  appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    return this.#settle(() => this.#msgs.append(batch, acks));
  }
  storedBytes(sender: string): Promise<number> {
    return Promise.resolve(this.#msgs.senderBytes(sender));
  }
  sweepMessages(before: number, limit: number): Promise<number> {
    // Acknowledged by every recipient: the DM's target (a note to self has none other), every
    // room member who joined before it, every user registered before a broadcast.
    const acked = (who: string) =>
      `COALESCE((SELECT seq FROM cursors c WHERE c.user = ${who} AND c.conv = :conv), 0) >= :seq`;
    const dm = this.q(`SELECT ${acked(":target")} AS ok`);
    const room = this.q(
      `SELECT NOT EXISTS (SELECT 1 FROM room_members rm WHERE rm.room = :target AND rm.user <> :sender
         AND rm.since_seq < :seq AND NOT (${acked("rm.user")})) AS ok`,
    );
    const all = this.q(
      `SELECT NOT EXISTS (SELECT 1 FROM users u WHERE u.name <> :sender AND u.created_seq < :seq
         AND NOT (${acked("u.name")})) AS ok`,
    );
    const seqs: number[] = [];
    this.db.exec("BEGIN"); // one snapshot (and one read lock) for every check
    try {
      for (const m of this.#msgs.olderThan(before)) {
        if (seqs.length >= limit) break;
        const { seq, conv, target, sender } = m;
        const r = m.kind === "user"
          ? (target === sender ? { ok: 1 } : dm.get({ seq, conv, target }))
          : m.kind === "room"
          ? room.get({ seq, conv, target, sender })
          : all.get({ seq, conv, sender });
        if ((r as Row).ok === 1) seqs.push(seq);
      }
    } finally {
      this.db.exec("COMMIT");
    }
    return this.#settle(() => this.#msgs.remove(seqs).length);
  }
  /** `fn`'s answer as a promise (a throw: a rejection). */
  #settle<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  lastSeq(): Promise<number> {
    // (The health check asks this: a closed or broken store must say so.)
    if (!this.db.isOpen) return Promise.reject(new Error("The store is closed"));
    if (this.#broken) return Promise.reject(this.#broken);
    return Promise.resolve(this.#msgs.top);
  }
  stats(): Promise<StoreStats> {
    const n = (sql: string) => Number((this.q(sql).get() as Row).n);
    const files = this.fileSizes();
    return Promise.resolve({
      users: n("SELECT COUNT(*) AS n FROM users"),
      rooms: n("SELECT COUNT(*) AS n FROM rooms"),
      messages: this.#msgs.count,
      bodyBytes: this.#msgs.bodyBytes,
      where: this.path,
      // The files (the database, its WAL and WAL index); in memory, the pages.
      sizeBytes: files.length
        ? files.reduce((a, f) => a + f.bytes, 0)
        : n("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"),
      ...(files.length ? { files } : {}),
    });
  }
  since(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return Promise.resolve(this.#msgs.rows(this.#msgs.seqsAfter(afterSeq, limit)));
  }
  sweepExpired(now: number, limit: number): Promise<number> {
    return this.#settle(() => this.#msgs.remove(this.#msgs.expired(now, limit)).length);
  }
  /**
   * After deletions: the WAL is checkpointed into the database and truncated to nothing, so the
   * deleted rows' old pages leave the data folder too (the database's own pages were zeroed by
   * `secure_delete`). A checkpoint a reader holds back (a backup running) is tried again next time.
   */
  scrub(): Promise<void> {
    if (!this.#scrubPending || this.#broken || !this.db.isOpen) return Promise.resolve();
    return this.#settle(() => {
      const r = this.#write(() => this.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as Row);
      if (Number(r.busy) === 0) this.#scrubPending = false;
    });
  }
  /** The sender's newest row of `mid`: the index's candidates, each row read to check. */
  #ofSender(sender: string, mid: string): StoredMessage | undefined {
    let row: StoredMessage | undefined;
    this.#msgs.ofSender(sender, mid, (seq) => (row = this.#msgs.rows([seq])[0])?.mid === mid);
    return row?.mid === mid ? row : undefined;
  }
  unsendMessage(sender: string, mid: string): Promise<number | null> {
    return this.#settle(() => {
      const r = this.#ofSender(sender, mid);
      if (!r) return null;
      const gone = this.#msgs.remove([r.seq]);
      return gone.length ? gone[0]!.body.length : null;
    });
  }
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const r = this.#ofSender(sender, mid);
    return Promise.resolve(r ? { seq: r.seq, ts: r.ts } : null);
  }

  pending(user: string, afterSeq: number, limit: number, device?: QueueOwner): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`pending: bad limit ${limit}`);
    // One read transaction: one snapshot (and one WAL read lock) for the lookups and the rows.
    this.db.exec("BEGIN");
    try {
      const u = this.q("SELECT created_seq FROM users WHERE name = ?").get(user) as Row | undefined;
      if (!u) return Promise.resolve([]);
      const rooms = (this.q("SELECT room, since_seq FROM room_members WHERE user = ?").all(user) as Row[])
        .map((r) => ({ room: r.room as string, sinceSeq: Number(r.since_seq) }));
      const cursors = new Map(
        (this.q("SELECT conv, seq FROM cursors WHERE user = ?").all(device?.cursor ?? user) as Row[])
          .map((r) => [r.conv as string, Number(r.seq)]),
      );
      const seqs = this.#msgs.pending({
        user,
        lo: Math.max(Number(u.created_seq), afterSeq, device?.sinceSeq ?? 0),
        own: device?.own === true,
        rooms,
        acked: (conv) => cursors.get(conv) ?? 0,
        limit,
      });
      return Promise.resolve(this.#msgs.rows(seqs));
    } finally {
      this.db.exec("COMMIT");
    }
  }
  ack(user: string, conv: string, seq: number): Promise<void> {
    return this.ackMany(user, [{ conv, seq }]);
  }
  ackMany(user: string, acks: readonly { conv: string; seq: number }[]): Promise<void> {
    return this.#settle(() => this.#write(() => this.#ackOnly([{ user, acks }])));
  }

  #ackOnly(sets: readonly AckSet[]): void {
    if (!sets.some((a) => a.acks.length)) return;
    // An ack is a hint: one lost in a crash only means a redelivery, which clients dedupe by seq.
    // So a commit of acks does not wait for fsync (`#relaxed`), and a flood of acks cannot hold the
    // event loop on the disk.
    this.#relaxed(() => {
      for (const a of sets) this.#acks(a.user, a.acks);
    });
  }

  /** Cursor moves, inside a transaction (a cursor never moves back). */
  #acks(user: string, acks: readonly { conv: string; seq: number }[]): void {
    const st = this.q(
      `INSERT INTO cursors (user, conv, seq) VALUES (?, ?, ?)
       ON CONFLICT (user, conv) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
    );
    for (const a of acks) st.run(user, a.conv, a.seq);
  }

  history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes = Number.MAX_SAFE_INTEGER,
    beforeSeq?: number,
  ): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) return Promise.resolve([]);
    // The newest `limit` (below `beforeSeq`) that fit the byte budget, from the index; then only those rows are read.
    const seqs = this.#msgs.history(conv, since, afterSeq, limit, maxBytes, beforeSeq);
    return Promise.resolve(this.#msgs.rows(seqs));
  }

  createRoom(
    r: { name: string; createdBy: string; createdAt: number; members: RoomMember[] },
  ): Promise<boolean> {
    return Promise.resolve(this.tx(() => {
      const c = this.q("INSERT OR IGNORE INTO rooms (name, created_by, created_at) VALUES (?, ?, ?)")
        .run(r.name, r.createdBy, r.createdAt);
      if (Number(c.changes) !== 1) return false;
      for (const m of r.members) this.#insertMember(r.name, m);
      return true;
    }));
  }
  #insertMember(room: string, m: RoomMember): void {
    this.q(
      `INSERT INTO room_members (room, user, since_seq, admin) VALUES (?, ?, ?, ?)
       ON CONFLICT (room, user) DO UPDATE SET admin = MAX(admin, excluded.admin)`,
    ).run(room, m.user, m.sinceSeq, m.admin ? 1 : 0);
  }
  getRoom(name: string): Promise<RoomRow | null> {
    const r = this.q("SELECT * FROM rooms WHERE name = ?").get(name) as Row | undefined;
    if (!r) return Promise.resolve(null);
    return Promise.resolve(this.#roomRow(r));
  }
  #roomRow(r: Row): RoomRow {
    const members = (this.q("SELECT user, since_seq, admin FROM room_members WHERE room = ? ORDER BY user")
      .all(r.name as string) as Row[]).map((m) => ({
        user: m.user as string,
        sinceSeq: m.since_seq as number,
        admin: m.admin === 1,
      }));
    return {
      name: r.name as string,
      createdBy: r.created_by as string,
      createdAt: r.created_at as number,
      members,
      open: r.is_open === 1,
      description: r.description as string,
    };
  }
  addMember(room: string, m: RoomMember): Promise<void> {
    this.#insertMember(room, m);
    return Promise.resolve();
  }
  removeMember(room: string, user: string): Promise<void> {
    this.q("DELETE FROM room_members WHERE room = ? AND user = ?").run(room, user);
    return Promise.resolve();
  }
  roomsOf(user: string): Promise<RoomRow[]> {
    const rows = this.q(
      "SELECT r.* FROM rooms r JOIN room_members m ON m.room = r.name WHERE m.user = ? ORDER BY r.name",
    ).all(user) as Row[];
    return Promise.resolve(rows.map((r) => this.#roomRow(r)));
  }

  appendRoomLog(room: string, epoch: number, entry: string): Promise<boolean> {
    return Promise.resolve(this.tx(() => {
      const n = this.q("SELECT COUNT(*) AS n FROM room_log WHERE room = ?").get(room) as Row;
      if (Number(n.n) !== epoch) return false;
      this.q("INSERT INTO room_log (room, epoch, entry) VALUES (?, ?, ?)").run(room, epoch, entry);
      return true;
    }));
  }
  roomLog(room: string): Promise<string[]> {
    const rows = this.q("SELECT entry FROM room_log WHERE room = ? ORDER BY epoch").all(room) as Row[];
    return Promise.resolve(rows.map((r) => r.entry as string));
  }
  setRoomPublic(room: string, p: { open?: boolean; description?: string }): Promise<boolean> {
    const c = this.q(
      `UPDATE rooms SET is_open = COALESCE(:open, is_open), description = COALESCE(:description, description)
       WHERE name = :room`,
    ).run({
      room,
      open: p.open === undefined ? null : p.open ? 1 : 0,
      description: p.description ?? null,
    });
    return Promise.resolve(Number(c.changes) === 1);
  }
  openRooms(limit: number): Promise<OpenRoomRow[]> {
    const rows = this.q(
      `SELECT r.name, r.description, (SELECT COUNT(*) FROM room_members m WHERE m.room = r.name) AS members
       FROM rooms r WHERE r.is_open = 1 ORDER BY r.name LIMIT ?`,
    ).all(limit) as Row[];
    return Promise.resolve(
      rows.map((r) => ({
        name: r.name as string,
        members: Number(r.members),
        description: r.description as string,
      })),
    );
  }
}

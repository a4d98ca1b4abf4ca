/**
 * `Store` on embedded SQLite (`node:sqlite`), WAL mode, `synchronous=FULL` so that a message
 * acknowledged to its sender survives `kill -9`. Opens a file path or ":memory:". This file holds
 * messages, acks and rooms; sqlite_accounts.ts the rest; sqlite_base.ts the connection. These and
 * the migrations are the only places that speak SQL to SQLite.
 */
import { type Row } from "./sqlite_base.ts";
import { SqliteAccounts } from "./sqlite_accounts.ts";
import { RecentMids } from "./recent_mids.ts";
import { MemoryMessageIndex, type MessageKey } from "./message_index.ts";
import type {
  AckSet,
  NewMessage,
  QueueOwner,
  RoomMember,
  RoomRow,
  Store,
  StoredMessage,
  StoreStats,
  TargetKind,
} from "./store.ts";

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

/**
 * Messages inserted by one statement (a multi-row VALUES): a statement run per row cost ~1.2 µs of
 * CPU more per message (node:sqlite's call and SQLite's statement reset; a 200,000-row micro-bench).
 */
const INSERT_ROWS = 16;
/** The columns of a deleted row that name its place in the index (`DELETE … RETURNING`). */
const KEY = "RETURNING seq, sender, kind, target, conv";
/** The rows without their bodies, a page at a time in seq order: the index's rebuild at open. */
const INDEX_PAGE = `SELECT seq, mid, sender, kind, target, conv, ts, LENGTH(body) FROM messages
  WHERE seq > ? ORDER BY seq LIMIT 4096`;
type IndexRow = [number, string, string, TargetKind, string, string, number, number];

/** How `SqliteStore` is opened. */
export interface SqliteStoreOptions {
  /** Grow the write-ahead log to its working size now (`reserveWal`): the server's choice, a file only. */
  reserveWal?: boolean;
}

export class SqliteStore extends SqliteAccounts implements Store {
  /**
   * Where each message goes, who sent it, its conversation (message_index.ts): the table has no
   * secondary index but the partial one on `expires` (migration 14), so an insert writes one B-tree.
   */
  readonly #index = new MemoryMessageIndex();

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    super(path);
    if (opts.reserveWal && path !== ":memory:") {
      try {
        this.reserveWal();
      } catch {
        // No room for it (SQLITE_FULL): nothing was committed, and the log grows as it is written.
      }
    }
    this.#rebuild();
  }

  /**
   * Fills the index from the table: pages of rows as arrays (`iterate()`, and rows as objects,
   * took three times as long: ~0.36 s per 100,000 rows against ~0.12 s).
   */
  #rebuild(): void {
    const page = this.db.prepare(INDEX_PAGE);
    // Deno's node:sqlite has it (as Node's), its type declarations not yet.
    (page as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    for (let after = 0;;) {
      const rows = page.all(after) as unknown as IndexRow[];
      for (const [seq, mid, sender, kind, target, conv, ts, bytes] of rows) {
        this.#index.add({ seq, mid, sender, kind, target, conv, ts }, bytes);
      }
      if (rows.length === 0) return;
      after = rows[rows.length - 1]![0];
    }
  }

  /**
   * Resends are found among each sender's newest messages (recent_mids.ts), not by a UNIQUE index
   * over all history, which cost about half of every insert (migration 12).
   */
  readonly #recent = new RecentMids((sender, n) => {
    const one = this.q("SELECT mid FROM messages WHERE seq = ?");
    return this.#index.newestSeqs(sender, n).map((seq) => (one.get(seq) as Row).mid as string);
  });

  appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    if (batch.length === 0) {
      this.#ackOnly(acks);
      return Promise.resolve([]);
    }
    const added: StoredMessage[] = [];
    try {
      return Promise.resolve(this.tx(() => {
        const fresh = batch.filter((m) => this.#recent.claim(m.sender, m.mid));
        for (let i = 0; i < fresh.length; i += INSERT_ROWS) {
          this.#insert(fresh.slice(i, i + INSERT_ROWS), added);
        }
        for (const a of acks) this.#acks(a.user, a.acks);
        let k = 0; // the stored rows in the batch's order, null for each resend
        return batch.map((m) => m === fresh[k] ? added[k++]! : null);
      }));
    } catch (e) {
      for (const m of added) this.#index.remove(m); // rolled back: not in the table
      this.#recent.clear(); // the windows name the mids of the rolled-back rows
      throw e;
    }
  }
  /** The INSERT of 1 to INSERT_ROWS rows (kept: the statement cache finds the same string at once). */
  readonly #inserts: string[] = [];
  /** Inserts `part` (at most INSERT_ROWS messages) in one statement and indexes the rows. */
  #insert(part: readonly NewMessage[], added: StoredMessage[]): void {
    const args: (string | number | Uint8Array | null)[] = [];
    for (const m of part) {
      args.push(m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.body, m.expires ?? null);
    }
    const sql = this.#inserts[part.length] ??=
      "INSERT INTO messages (mid, sender, kind, target, conv, ts, body, expires) VALUES " +
      Array(part.length).fill("(?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
    const r = this.q(sql).run(...args);
    // One statement's rows take consecutive seqs in their order (AUTOINCREMENT: one past the
    // highest ever given, row after row, under this transaction's write lock).
    let seq = Number(r.lastInsertRowid) - part.length + 1;
    for (const m of part) {
      const row = { ...m, seq: seq++ };
      this.#index.add(row, m.body.length);
      added.push(row);
    }
  }
  storedBytes(sender: string): Promise<number> {
    return Promise.resolve(this.#index.senderBytes(sender));
  }
  sweepMessages(before: number, limit: number): Promise<number> {
    // Acknowledged by every recipient: the DM's target (a note to self has none other), every
    // room member who joined before it, every user registered before a broadcast.
    const acked = (who: string) =>
      `COALESCE((SELECT seq FROM cursors c WHERE c.user = ${who} AND c.conv = m.conv), 0) >= m.seq`;
    const gone = this.q(
      `DELETE FROM messages WHERE seq IN (
         SELECT m.seq FROM messages m WHERE m.seq < :bound AND m.ts < :before AND (
           (m.kind = 'user' AND (m.target = m.sender OR ${acked("m.target")}))
           OR (m.kind = 'room' AND NOT EXISTS (SELECT 1 FROM room_members rm
             WHERE rm.room = m.target AND rm.user <> m.sender AND rm.since_seq < m.seq AND NOT (${
        acked("rm.user")
      })))
           OR (m.kind = 'broadcast' AND NOT EXISTS (SELECT 1 FROM users u
             WHERE u.name <> m.sender AND u.created_seq < m.seq AND NOT (${acked("u.name")}))))
         ORDER BY m.seq LIMIT :lim) ${KEY}`,
    ).all({ before, lim: limit, bound: this.#firstSeqAt(before) });
    return Promise.resolve(this.#deleted(gone));
  }
  /**
   * The seq of the first message stored at or after `ts` (one past the last seq when none is): a
   * binary search on the primary key, as messages are stored in time order. Should the clock have
   * stepped back, a message older than `ts` past this point waits for a later sweep; none newer
   * than `ts` is ever taken (the sweep checks each row's ts as well).
   */
  #firstSeqAt(ts: number): number {
    const at = this.q("SELECT seq, ts FROM messages WHERE seq >= ? ORDER BY seq LIMIT 1");
    const ends = this.q("SELECT COALESCE(MIN(seq), 0) AS lo, COALESCE(MAX(seq), 0) AS hi FROM messages")
      .get() as Row;
    let lo = Number(ends.lo), hi = Number(ends.hi) + 1;
    // Invariant: every row below lo has ts < `ts`; the row at or after hi (if any) has ts >= `ts`.
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const r = at.get(mid) as Row | undefined;
      if (r && Number(r.ts) < ts) lo = Number(r.seq) + 1;
      else hi = mid;
    }
    return lo;
  }
  lastSeq(): Promise<number> {
    return Promise.resolve(
      (this.q("SELECT COALESCE(MAX(seq), 0) AS n FROM messages").get() as Row).n as number,
    );
  }
  stats(): Promise<StoreStats> {
    const n = (sql: string) => Number((this.q(sql).get() as Row).n);
    return Promise.resolve({
      users: n("SELECT COUNT(*) AS n FROM users"),
      rooms: n("SELECT COUNT(*) AS n FROM rooms"),
      messages: this.#index.count,
      bodyBytes: this.#index.bodyBytes,
      where: this.path,
      // The main file's pages (the WAL beside it is checkpointed into them).
      sizeBytes: n("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"),
    });
  }
  since(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const rows = this.q("SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit);
    return Promise.resolve((rows as Row[]).map(toMsg));
  }
  sweepExpired(now: number, limit: number): Promise<number> {
    const gone = this.q(
      `DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE expires IS NOT NULL AND expires <= ? LIMIT ?)
       ${KEY}`,
    ).all(now, limit);
    return Promise.resolve(this.#deleted(gone));
  }
  /**
   * After rows were deleted (`gone`: their keys, RETURNING): they leave the index, and the resend
   * windows are read again (a deleted mid is free again). How many went.
   */
  #deleted(gone: readonly Row[]): number {
    for (const r of gone) this.#index.remove(r as unknown as MessageKey);
    if (gone.length > 0) this.#recent.clear();
    return gone.length;
  }
  /** The sender's newest row of `mid` (seq, mid, ts): the index's candidates, each row read to check. */
  #ofSender(sender: string, mid: string): Row | undefined {
    const one = this.q("SELECT seq, mid, ts FROM messages WHERE seq = ?");
    let row: Row | undefined;
    this.#index.ofSender(sender, mid, (seq) => (row = one.get(seq) as Row | undefined)?.mid === mid);
    return row?.mid === mid ? row : undefined;
  }
  unsendMessage(sender: string, mid: string): Promise<number | null> {
    const gone = this.tx(() => {
      const r = this.#ofSender(sender, mid);
      return r
        ? this.q(`DELETE FROM messages WHERE seq = ? ${KEY}, LENGTH(body) AS n`).all(r.seq as number)
        : [];
    });
    this.#deleted(gone);
    return Promise.resolve(gone.length ? Number(gone[0]!.n) : null);
  }
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const r = this.#ofSender(sender, mid);
    return Promise.resolve(r ? { seq: Number(r.seq), ts: Number(r.ts) } : null);
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
      const seqs = this.#index.pending({
        user,
        lo: Math.max(Number(u.created_seq), afterSeq, device?.sinceSeq ?? 0),
        own: device?.own === true,
        rooms,
        acked: (conv) => cursors.get(conv) ?? 0,
        limit,
      });
      return Promise.resolve(this.#rows(seqs));
    } finally {
      this.db.exec("COMMIT");
    }
  }
  /** The rows of `seqs` by primary key, in that order. */
  #rows(seqs: readonly number[]): StoredMessage[] {
    const one = this.q("SELECT * FROM messages WHERE seq = ?");
    return seqs.map((seq) => toMsg(one.get(seq) as Row));
  }
  ack(user: string, conv: string, seq: number): Promise<void> {
    return this.ackMany(user, [{ conv, seq }]);
  }
  ackMany(user: string, acks: readonly { conv: string; seq: number }[]): Promise<void> {
    this.#ackOnly([{ user, acks }]);
    return Promise.resolve();
  }

  #ackOnly(sets: readonly AckSet[]): void {
    if (!sets.some((a) => a.acks.length)) return;
    // An ack is a hint: one lost in a crash only means a redelivery, which clients dedupe by seq.
    // So a commit of acks alone does not wait for fsync (WAL, synchronous=NORMAL), and a flood of
    // acks cannot hold the event loop on the disk. With messages, they share the batch's commit.
    this.db.exec("PRAGMA synchronous=NORMAL");
    try {
      this.tx(() => {
        for (const a of sets) this.#acks(a.user, a.acks);
      });
    } finally {
      this.db.exec("PRAGMA synchronous=FULL");
    }
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
  ): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) return Promise.resolve([]);
    // The newest `limit` that fit the byte budget, from the index; then only those rows are read.
    const seqs = this.#index.history(conv, since, afterSeq, limit, maxBytes);
    this.db.exec("BEGIN");
    try {
      return Promise.resolve(this.#rows(seqs));
    } finally {
      this.db.exec("COMMIT");
    }
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
}

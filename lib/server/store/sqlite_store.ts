/**
 * `Store` on embedded SQLite (`node:sqlite`), WAL mode, `synchronous=FULL`, with the messages in a
 * log of their own (log_messages.ts: segment files beside the database, `messageLogDir`, or memory
 * for ":memory:"), so that a message acknowledged to its sender survives `kill -9`. This file holds
 * messages' SQL side (acks, sweeps' recipients, rows from before the log) and rooms;
 * sqlite_accounts.ts the rest; sqlite_base.ts the connection. These and the migrations are the only
 * places that speak SQL to SQLite.
 */
import { type Row } from "./sqlite_base.ts";
import { SqliteAccounts } from "./sqlite_accounts.ts";
import { type LegacyRows, LogMessages } from "./log_messages.ts";
import { MemorySegmentLog } from "./segment_memory.ts";
import { openSegmentFiles } from "./segment_files.ts";
import { type LogMeta, messageLogDir, type OpenSegmentLog } from "./segment_log.ts";
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

/** The table's rows without their bodies, a page at a time in seq order: indexed at open. */
const INDEX_PAGE = `SELECT seq, mid, sender, kind, target, conv, ts, expires, LENGTH(body) FROM messages
  WHERE seq > ? ORDER BY seq LIMIT 4096`;
type IndexRow = [number, string, string, TargetKind, string, string, number, number | null, number];

/** How `SqliteStore` is opened. */
export interface SqliteStoreOptions {
  /** Grow the write-ahead log to its working size now (`reserveWal`): the server's choice, a file only. */
  reserveWal?: boolean;
  /**
   * Open the message log (and index it) only when a message is first asked for, not now: for
   * `admin` commands, which touch accounts only and may run beside a server that holds the log.
   */
  lazyMessages?: boolean;
}

export class SqliteStore extends SqliteAccounts implements Store {
  #opened: LogMessages | null = null;
  /** The messages: their log opened at the first use (at once unless `lazyMessages`). */
  get #msgs(): LogMessages {
    return this.#opened ??= this.#openMessages();
  }

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    super(path);
    if (opts.reserveWal && path !== ":memory:") {
      try {
        this.reserveWal();
      } catch {
        // No room for it (SQLITE_FULL): nothing was committed, and the log grows as it is written.
      }
    }
    if (!opts.lazyMessages) this.#opened = this.#openMessages();
  }

  #openMessages(): LogMessages {
    const path = this.path;
    const open: OpenSegmentLog = path === ":memory:"
      ? (_found, o) => new MemorySegmentLog(o)
      : (found, o) => openSegmentFiles(messageLogDir(path), found, o);
    const high = this.q("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get() as Row | undefined;
    return new LogMessages(open, this.#legacy, this.#legacyRows(), Number(high?.seq ?? 0));
  }

  /** Rows stored in the table before the log (read and deleted there). */
  readonly #legacy: LegacyRows = {
    read: (seqs) => {
      const one = this.q("SELECT * FROM messages WHERE seq = ?");
      return seqs.map((seq) => toMsg(one.get(seq) as Row));
    },
    delete: (seqs) => {
      const del = this.q("DELETE FROM messages WHERE seq = ?");
      this.tx(() => seqs.forEach((seq) => del.run(seq)));
    },
  };

  /**
   * The table's rows, pages of arrays (`iterate()`, and rows as objects, took three times as long:
   * ~0.36 s per 100,000 rows against ~0.12 s).
   */
  *#legacyRows(): Generator<{ meta: LogMeta }> {
    const page = this.db.prepare(INDEX_PAGE);
    // Deno's node:sqlite has it (as Node's), its type declarations not yet.
    (page as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    for (let after = 0;;) {
      const rows = page.all(after) as unknown as IndexRow[];
      for (const [seq, mid, sender, kind, target, conv, ts, expires, bodyBytes] of rows) {
        yield { meta: { seq, mid, sender, kind, target, conv, ts, expires, bodyBytes } };
      }
      if (rows.length === 0) return;
      after = rows[rows.length - 1]![0];
    }
  }

  protected topSeq(): number {
    return this.#msgs.top;
  }

  async appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    // The acks first, without an fsync (hints: see #ackOnly). They name seqs stored before, so
    // should the messages' append fail after them, what they say still holds; should they fail,
    // nothing of the batch is stored (as one transaction would fail).
    this.#ackOnly(acks);
    return batch.length ? await this.#msgs.append(batch) : [];
  }
  storedBytes(sender: string): Promise<number> {
    return Promise.resolve(this.#msgs.index.senderBytes(sender));
  }
  async sweepMessages(before: number, limit: number): Promise<number> {
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
    return (await this.#msgs.remove(seqs)).length;
  }
  lastSeq(): Promise<number> {
    // (The health check asks this: a closed store must say so, as a query on it would.)
    if (!this.db.isOpen) return Promise.reject(new Error("The store is closed"));
    return Promise.resolve(this.#msgs.top);
  }
  stats(): Promise<StoreStats> {
    const n = (sql: string) => Number((this.q(sql).get() as Row).n);
    return Promise.resolve({
      users: n("SELECT COUNT(*) AS n FROM users"),
      rooms: n("SELECT COUNT(*) AS n FROM rooms"),
      messages: this.#msgs.index.count,
      bodyBytes: this.#msgs.index.bodyBytes,
      where: this.path,
      // The main file's pages (the WAL beside it is checkpointed into them) and the message log.
      sizeBytes: n("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()") +
        this.#msgs.logBytes,
    });
  }
  since(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return Promise.resolve(this.#msgs.rows(this.#msgs.seqsAfter(afterSeq, limit)));
  }
  async sweepExpired(now: number, limit: number): Promise<number> {
    return (await this.#msgs.remove(this.#msgs.expired(now, limit))).length;
  }
  /** The sender's newest row of `mid`: the index's candidates, each row read to check. */
  #ofSender(sender: string, mid: string): StoredMessage | undefined {
    let row: StoredMessage | undefined;
    this.#msgs.index.ofSender(sender, mid, (seq) => (row = this.#msgs.rows([seq])[0])?.mid === mid);
    return row?.mid === mid ? row : undefined;
  }
  async unsendMessage(sender: string, mid: string): Promise<number | null> {
    const r = this.#ofSender(sender, mid);
    if (!r) return null;
    const gone = await this.#msgs.remove([r.seq]);
    return gone.length ? gone[0]!.body.length : null;
  }
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const r = this.#ofSender(sender, mid);
    return Promise.resolve(r ? { seq: r.seq, ts: r.ts } : null);
  }

  override async close(): Promise<void> {
    await this.#opened?.close();
    await super.close();
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
      const seqs = this.#msgs.index.pending({
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
    this.#ackOnly([{ user, acks }]);
    return Promise.resolve();
  }

  #ackOnly(sets: readonly AckSet[]): void {
    if (!sets.some((a) => a.acks.length)) return;
    // An ack is a hint: one lost in a crash only means a redelivery, which clients dedupe by seq.
    // So a commit of acks does not wait for fsync (WAL, synchronous=NORMAL), and a flood of acks
    // cannot hold the event loop on the disk.
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
    beforeSeq?: number,
  ): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) return Promise.resolve([]);
    // The newest `limit` (below `beforeSeq`) that fit the byte budget, from the index; then only those rows are read.
    const seqs = this.#msgs.index.history(conv, since, afterSeq, limit, maxBytes, beforeSeq);
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

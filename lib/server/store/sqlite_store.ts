/**
 * `Store` on embedded SQLite (`node:sqlite`), WAL mode, `synchronous=FULL` so that a message
 * acknowledged to its sender survives `kill -9`. Opens a file path or ":memory:". This file holds
 * messages, acks and rooms; sqlite_accounts.ts the rest; sqlite_base.ts the connection. These and
 * the migrations are the only places that speak SQL to SQLite.
 */
import { type Row } from "./sqlite_base.ts";
import { SqliteAccounts } from "./sqlite_accounts.ts";
import { RecentMids } from "./recent_mids.ts";
import type {
  AckSet,
  NewMessage,
  QueueOwner,
  RoomMember,
  RoomRow,
  Store,
  StoredMessage,
  StoreStats,
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

/** Not yet acknowledged by cursor `:cur`. */
const UNACKED = "m.seq > COALESCE((SELECT seq FROM cursors c WHERE c.user = :cur AND c.conv = m.conv), 0)";
/**
 * A user's (or device's) offline queue, one statement per way a message reaches them, each a range
 * scan of an index in seq order; `pending` merges them by seq. (A single query with an OR across
 * kinds scanned every DM on the server at each sync: 28 ms with 200,000 stored, for nothing new.)
 * Every statement takes the same named parameters (node:sqlite refuses unknown ones). The limit is
 * written into the SQL (an integer, checked): a bound `LIMIT ?` made each statement ~5× slower.
 */
const pendingSql = (lim: number) => ({
  /** DMs to them (a note to self only for their other devices). */
  dmIn: `SELECT m.* FROM messages m WHERE m.kind = 'user' AND m.target = :u AND m.seq > :lo
    AND (m.sender <> :u OR :own = 1) AND ${UNACKED} ORDER BY m.seq LIMIT ${lim}`,
  /** DMs they sent to others, for their other devices. */
  dmOwn: `SELECT m.* FROM messages m WHERE :own = 1 AND m.sender = :u AND m.kind = 'user' AND m.target <> :u
    AND m.seq > :lo AND ${UNACKED} ORDER BY m.seq LIMIT ${lim}`,
  /** Rooms they are in, since they joined. */
  rooms: `SELECT m.* FROM room_members rm CROSS JOIN messages m WHERE rm.user = :u AND m.kind = 'room'
    AND m.target = rm.room AND m.seq > MAX(:lo, rm.since_seq) AND (m.sender <> :u OR :own = 1) AND ${UNACKED}
    ORDER BY m.seq LIMIT ${lim}`,
  broadcasts: `SELECT m.* FROM messages m WHERE m.kind = 'broadcast' AND m.seq > :lo
    AND (m.sender <> :u OR :own = 1) AND ${UNACKED} ORDER BY m.seq LIMIT ${lim}`,
});

/**
 * A conversation's history, newest first, in one range of the recipients' index (kind, target,
 * seq, sender): a room's or broadcasts' whole range, or one direction of a DM (its sender checked
 * in the index, no row read). `conv` is checked as well: the ranges only narrow the search.
 */
const HISTORY_RANGE = `SELECT seq, LENGTH(body) AS n FROM messages INDEXED BY messages_target
  WHERE kind = :kind AND target = :target AND conv = :c AND ts >= :since AND seq > :after
  ORDER BY seq DESC LIMIT :lim`;
const HISTORY_RANGE_FROM = `SELECT seq, LENGTH(body) AS n FROM messages INDEXED BY messages_target
  WHERE kind = :kind AND target = :target AND sender = :sender AND conv = :c AND ts >= :since
  AND seq > :after ORDER BY seq DESC LIMIT :lim`;

/**
 * Where a conversation key (protocol/names.ts `convKey`) lies in the recipients' index: a room
 * `r:NAME`, broadcasts `b`, a DM `d:X:Y` in both directions (names never hold ":").
 */
function convRanges(conv: string): { kind: string; target: string; sender?: string }[] {
  if (conv === "b") return [{ kind: "broadcast", target: "" }];
  if (conv.startsWith("r:")) return [{ kind: "room", target: conv.slice(2) }];
  const [d, x, y, more] = conv.split(":");
  if (d !== "d" || x === undefined || y === undefined || more !== undefined) {
    throw new Error(`history: not a conversation key: ${conv}`);
  }
  return x === y
    ? [{ kind: "user", target: x, sender: x }]
    : [{ kind: "user", target: y, sender: x }, { kind: "user", target: x, sender: y }];
}

/** How `SqliteStore` is opened. */
export interface SqliteStoreOptions {
  /** Grow the write-ahead log to its working size now (`reserveWal`): the server's choice, a file only. */
  reserveWal?: boolean;
}

export class SqliteStore extends SqliteAccounts implements Store {
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    super(path);
    if (opts.reserveWal && path !== ":memory:") {
      try {
        this.reserveWal();
      } catch {
        // No room for it (SQLITE_FULL): nothing was committed, and the log grows as it is written.
      }
    }
  }

  /**
   * Resends are found among each sender's newest messages (recent_mids.ts), not by a UNIQUE index
   * over all history, which cost about half of every insert (migration 12).
   */
  readonly #recent = new RecentMids((sender, n) =>
    (this.q("SELECT mid FROM messages WHERE sender = ? ORDER BY seq DESC LIMIT ?").all(sender, n) as Row[])
      .map((r) => r.mid as string).reverse()
  );

  appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    if (batch.length === 0) {
      this.#ackOnly(acks);
      return Promise.resolve([]);
    }
    const ins = this.q(
      "INSERT INTO messages (mid, sender, kind, target, conv, ts, body, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    try {
      return Promise.resolve(this.tx(() => {
        const rows = batch.map((m) => {
          if (!this.#recent.claim(m.sender, m.mid)) return null;
          const r = ins.run(m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.body, m.expires ?? null);
          return { ...m, seq: Number(r.lastInsertRowid) };
        });
        for (const a of acks) this.#acks(a.user, a.acks);
        return rows;
      }));
    } catch (e) {
      this.#recent.clear(); // the windows name the mids of the rolled-back rows
      throw e;
    }
  }
  storedBytes(sender: string): Promise<number> {
    // length() of a blob reads its size from the row header, not the blob.
    const r = this.q("SELECT COALESCE(SUM(LENGTH(body)), 0) AS n FROM messages WHERE sender = ?").get(
      sender,
    );
    return Promise.resolve(Number((r as Row).n));
  }
  sweepMessages(before: number, limit: number): Promise<number> {
    // Acknowledged by every recipient: the DM's target (a note to self has none other), every
    // room member who joined before it, every user registered before a broadcast.
    const acked = (who: string) =>
      `COALESCE((SELECT seq FROM cursors c WHERE c.user = ${who} AND c.conv = m.conv), 0) >= m.seq`;
    const r = this.q(
      `DELETE FROM messages WHERE seq IN (
         SELECT m.seq FROM messages m WHERE m.seq < :bound AND m.ts < :before AND (
           (m.kind = 'user' AND (m.target = m.sender OR ${acked("m.target")}))
           OR (m.kind = 'room' AND NOT EXISTS (SELECT 1 FROM room_members rm
             WHERE rm.room = m.target AND rm.user <> m.sender AND rm.since_seq < m.seq AND NOT (${
        acked("rm.user")
      })))
           OR (m.kind = 'broadcast' AND NOT EXISTS (SELECT 1 FROM users u
             WHERE u.name <> m.sender AND u.created_seq < m.seq AND NOT (${acked("u.name")}))))
         ORDER BY m.seq LIMIT :lim)`,
    ).run({ before, lim: limit, bound: this.#firstSeqAt(before) });
    return Promise.resolve(this.#deleted(Number(r.changes)));
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
      messages: n("SELECT COUNT(*) AS n FROM messages"),
      bodyBytes: n("SELECT COALESCE(SUM(LENGTH(body)), 0) AS n FROM messages"),
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
    const r = this.q(
      "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE expires IS NOT NULL AND expires <= ? LIMIT ?)",
    ).run(now, limit);
    return Promise.resolve(this.#deleted(Number(r.changes)));
  }
  /** After rows were deleted: the resend windows are read again (a deleted mid is free again). */
  #deleted(n: number): number {
    if (n > 0) this.#recent.clear();
    return n;
  }
  /** The sender's newest row of `mid` (the sender index, newest first: a recent one is found at once). */
  #ofSender(sender: string, mid: string): Row | undefined {
    return this.q(
      "SELECT seq, ts, LENGTH(body) AS n FROM messages WHERE sender = ? AND mid = ? ORDER BY seq DESC LIMIT 1",
    ).get(sender, mid) as Row | undefined;
  }
  unsendMessage(sender: string, mid: string): Promise<number | null> {
    return Promise.resolve(this.tx(() => {
      const r = this.#ofSender(sender, mid);
      if (!r) return null;
      this.#deleted(Number(this.q("DELETE FROM messages WHERE seq = ?").run(r.seq as number).changes));
      return Number(r.n);
    }));
  }
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const r = this.#ofSender(sender, mid);
    return Promise.resolve(r ? { seq: Number(r.seq), ts: Number(r.ts) } : null);
  }
  /** Statements of `pending` by limit (callers use a few limits: the sync page, tests' small ones). */
  readonly #pending = new Map<number, ReturnType<typeof pendingSql>>();

  pending(user: string, afterSeq: number, limit: number, device?: QueueOwner): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`pending: bad limit ${limit}`);
    let sql = this.#pending.get(limit);
    if (!sql) {
      if (this.#pending.size >= 16) this.#pending.clear();
      this.#pending.set(limit, sql = pendingSql(limit));
    }
    const own = device?.own ? 1 : 0;
    const rows: Row[] = [];
    // One read transaction: one snapshot (and one WAL read lock) for the five statements.
    this.db.exec("BEGIN");
    try {
      const u = this.q("SELECT created_seq FROM users WHERE name = ?").get(user) as Row | undefined;
      if (u) {
        const p = {
          u: user,
          lo: Math.max(Number(u.created_seq), afterSeq, device?.sinceSeq ?? 0),
          cur: device?.cursor ?? user,
          own,
        };
        for (
          const q of own
            ? [sql.dmIn, sql.dmOwn, sql.rooms, sql.broadcasts]
            : [sql.dmIn, sql.rooms, sql.broadcasts]
        ) {
          rows.push(...this.q(q).all(p) as Row[]);
        }
      }
    } finally {
      this.db.exec("COMMIT");
    }
    rows.sort((a, b) => Number(a.seq) - Number(b.seq));
    return Promise.resolve(rows.slice(0, limit).map(toMsg));
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
    const p = { c: conv, since, after: afterSeq, lim: limit };
    // One snapshot for the ranges and the rows read after them.
    this.db.exec("BEGIN");
    try {
      // The newest `limit` of each range (their seq and body size: length() reads the row header,
      // not the blob), merged newest first; then only the rows that fit the byte budget are read.
      const heads = convRanges(conv).flatMap((r) =>
        this.q(r.sender === undefined ? HISTORY_RANGE : HISTORY_RANGE_FROM).all({ ...p, ...r }) as Row[]
      ).sort((a, b) => Number(b.seq) - Number(a.seq)).slice(0, limit);
      const keep: number[] = [];
      let bytes = 0;
      for (const h of heads) {
        bytes += Number(h.n);
        if (keep.length > 0 && bytes > maxBytes) break;
        keep.push(Number(h.seq));
      }
      const one = this.q("SELECT * FROM messages WHERE seq = ?");
      return Promise.resolve(keep.reverse().map((seq) => toMsg(one.get(seq) as Row)));
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

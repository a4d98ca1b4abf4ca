/**
 * `Store` on embedded SQLite (`node:sqlite`), WAL mode, `synchronous=FULL` so that a message
 * acknowledged to its sender survives `kill -9`. Opens a file path or ":memory:". This file and
 * the migrations are the only places that speak SQL.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { MIGRATIONS } from "./migrations.ts";
import { deviceAddress } from "../../common/device_address.ts";
import type {
  AckSet,
  AuditRow,
  DeviceRow,
  KeyBundleRow,
  KickRow,
  NewMessage,
  QueueOwner,
  Role,
  RoomMember,
  RoomRow,
  Store,
  StoredMessage,
  UserRow,
} from "./store.ts";

type Row = Record<string, unknown>;

const toUser = (r: Row): UserRow => ({
  name: r.name as string,
  hash: r.hash as string,
  role: r.role as Role,
  createdAt: r.created_at as number,
  createdSeq: r.created_seq as number,
  failed: r.failed as number,
  lockedUntil: r.locked_until as number,
  lockouts: r.lockouts as number,
  failedAt: (r.failed_at as number | undefined) ?? 0,
  kdf: (r.kdf as string | null | undefined) ?? null,
});

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

const toKick = (r: Row): KickRow => ({
  user: r.user as string,
  by: r.by_user as string,
  at: r.at as number,
  bannedUntil: (r.banned_until as number | null) ?? null,
  reason: (r.reason as string | null) ?? null,
});

/** Not yet acknowledged by cursor `:cur`. */
const UNACKED = "m.seq > COALESCE((SELECT seq FROM cursors c WHERE c.user = :cur AND c.conv = m.conv), 0)";
/**
 * A user's (or device's) offline queue, one statement per way a message reaches them, each a range
 * scan of an index in seq order; `pending` merges them by seq. (A single query with an OR across
 * kinds scanned every DM on the server at each sync: 28 ms with 200,000 stored, for nothing new.)
 * Every statement takes the same named parameters (node:sqlite refuses unknown ones).
 */
const PENDING_SQL = {
  /** DMs to them (a note to self only for their other devices). */
  dmIn: `SELECT m.* FROM messages m WHERE m.kind = 'user' AND m.target = :u AND m.seq > :lo
    AND (m.sender <> :u OR :own = 1) AND ${UNACKED} ORDER BY m.seq LIMIT :lim`,
  /** DMs they sent to others, for their other devices. */
  dmOwn: `SELECT m.* FROM messages m WHERE :own = 1 AND m.sender = :u AND m.kind = 'user' AND m.target <> :u
    AND m.seq > :lo AND ${UNACKED} ORDER BY m.seq LIMIT :lim`,
  /** Rooms they are in, since they joined. */
  rooms: `SELECT m.* FROM room_members rm CROSS JOIN messages m WHERE rm.user = :u AND m.kind = 'room'
    AND m.target = rm.room AND m.seq > MAX(:lo, rm.since_seq) AND (m.sender <> :u OR :own = 1) AND ${UNACKED}
    ORDER BY m.seq LIMIT :lim`,
  broadcasts: `SELECT m.* FROM messages m WHERE m.kind = 'broadcast' AND m.seq > :lo
    AND (m.sender <> :u OR :own = 1) AND ${UNACKED} ORDER BY m.seq LIMIT :lim`,
};

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #st = new Map<string, StatementSync>();

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
    );
    this.#migrate();
  }

  #migrate(): void {
    const v = (this.#db.prepare("PRAGMA user_version").get() as Row).user_version as number;
    for (let i = v; i < MIGRATIONS.length; i++) {
      this.#db.exec("BEGIN");
      try {
        this.#db.exec(MIGRATIONS[i]!);
        this.#db.exec(`PRAGMA user_version = ${i + 1}`);
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
    }
  }

  #q(sql: string): StatementSync {
    let s = this.#st.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#st.set(sql, s);
    }
    return s;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const r = fn();
      this.#db.exec("COMMIT");
      return r;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  createUser(
    u: { name: string; hash: string; role: Role; createdAt: number; kdf?: string },
  ): Promise<boolean> {
    const r = this.#q(
      `INSERT OR IGNORE INTO users (name, hash, role, created_at, created_seq, kdf)
       VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM messages), ?)`,
    ).run(u.name, u.hash, u.role, u.createdAt, u.kdf ?? null);
    return Promise.resolve(Number(r.changes) === 1);
  }
  setCredential(name: string, hash: string, kdf: string): Promise<void> {
    this.#q("UPDATE users SET hash = ?, kdf = ? WHERE name = ?").run(hash, kdf, name);
    return Promise.resolve();
  }
  serverSecret(): Promise<string> {
    return Promise.resolve(
      (this.#q("SELECT v FROM server_meta WHERE k = 'secret'").get() as Row).v as string,
    );
  }
  getUser(name: string): Promise<UserRow | null> {
    const r = this.#q("SELECT * FROM users WHERE name = ?").get(name) as Row | undefined;
    return Promise.resolve(r ? toUser(r) : null);
  }
  listUsers(): Promise<UserRow[]> {
    return Promise.resolve((this.#q("SELECT * FROM users ORDER BY name").all() as Row[]).map(toUser));
  }
  setLoginState(
    name: string,
    s: { failed: number; lockedUntil: number; lockouts: number; failedAt?: number },
  ): Promise<void> {
    this.#q("UPDATE users SET failed = ?, locked_until = ?, lockouts = ?, failed_at = ? WHERE name = ?")
      .run(s.failed, s.lockedUntil, s.lockouts, s.failedAt ?? 0, name);
    return Promise.resolve();
  }
  setRole(name: string, role: Role): Promise<void> {
    this.#q("UPDATE users SET role = ? WHERE name = ?").run(role, name);
    return Promise.resolve();
  }
  countAdmins(): Promise<number> {
    return Promise.resolve(
      (this.#q("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'").get() as Row).n as number,
    );
  }

  addKick(k: KickRow): Promise<void> {
    this.#q("INSERT INTO kicks (user, by_user, at, banned_until, reason) VALUES (?, ?, ?, ?, ?)")
      .run(k.user, k.by, k.at, k.bannedUntil, k.reason);
    return Promise.resolve();
  }
  listKicks(limit: number): Promise<KickRow[]> {
    return Promise.resolve(
      (this.#q("SELECT * FROM kicks ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(toKick),
    );
  }
  activeBan(user: string, now: number): Promise<KickRow | null> {
    const r = this.#q(
      "SELECT * FROM kicks WHERE user = ? AND banned_until > ? ORDER BY banned_until DESC LIMIT 1",
    ).get(user, now) as Row | undefined;
    return Promise.resolve(r ? toKick(r) : null);
  }
  liftBans(user: string, now: number): Promise<number> {
    const r = this.#q("UPDATE kicks SET banned_until = ? WHERE user = ? AND banned_until > ?").run(
      now,
      user,
      now,
    );
    return Promise.resolve(Number(r.changes));
  }
  audit(a: AuditRow): Promise<void> {
    this.#q("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
      .run(a.at, a.actor, a.action, a.target, a.detail);
    return Promise.resolve();
  }
  auditRepeat(a: AuditRow, since: number): Promise<void> {
    this.#tx(() => {
      const r = this.#q(
        "UPDATE audit SET count = count + 1 WHERE actor = ? AND action = ? AND target = ? AND at >= ?",
      ).run(a.actor, a.action, a.target, since);
      if (Number(r.changes) === 0) void this.audit(a);
    });
    return Promise.resolve();
  }
  listAudit(limit: number): Promise<AuditRow[]> {
    const rows = this.#q(
      "SELECT at, actor, action, target, detail, count FROM audit ORDER BY id DESC LIMIT ?",
    )
      .all(limit);
    return Promise.resolve(rows.map((r) => ({ ...(r as unknown as AuditRow) })));
  }

  appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    if (batch.length === 0) {
      this.#ackOnly(acks);
      return Promise.resolve([]);
    }
    const ins = this.#q(
      "INSERT OR IGNORE INTO messages (mid, sender, kind, target, conv, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    return Promise.resolve(this.#tx(() => {
      const rows = batch.map((m) => {
        const r = ins.run(m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.body);
        return Number(r.changes) === 1 ? { ...m, seq: Number(r.lastInsertRowid) } : null;
      });
      for (const a of acks) this.#acks(a.user, a.acks);
      return rows;
    }));
  }
  storedBytes(sender: string): Promise<number> {
    // length() of a blob reads its size from the row header, not the blob.
    const r = this.#q("SELECT COALESCE(SUM(LENGTH(body)), 0) AS n FROM messages WHERE sender = ?").get(
      sender,
    );
    return Promise.resolve(Number((r as Row).n));
  }
  sweepMessages(before: number, limit: number): Promise<number> {
    // Acknowledged by every recipient: the DM's target (a note to self has none other), every
    // room member who joined before it, every user registered before a broadcast.
    const acked = (who: string) =>
      `COALESCE((SELECT seq FROM cursors c WHERE c.user = ${who} AND c.conv = m.conv), 0) >= m.seq`;
    const r = this.#q(
      `DELETE FROM messages WHERE seq IN (
         SELECT m.seq FROM messages m WHERE m.ts < :before AND (
           (m.kind = 'user' AND (m.target = m.sender OR ${acked("m.target")}))
           OR (m.kind = 'room' AND NOT EXISTS (SELECT 1 FROM room_members rm
             WHERE rm.room = m.target AND rm.user <> m.sender AND rm.since_seq < m.seq AND NOT (${
        acked("rm.user")
      })))
           OR (m.kind = 'broadcast' AND NOT EXISTS (SELECT 1 FROM users u
             WHERE u.name <> m.sender AND u.created_seq < m.seq AND NOT (${acked("u.name")}))))
         ORDER BY m.ts LIMIT :lim)`,
    ).run({ before, lim: limit });
    return Promise.resolve(Number(r.changes));
  }
  lastSeq(): Promise<number> {
    return Promise.resolve(
      (this.#q("SELECT COALESCE(MAX(seq), 0) AS n FROM messages").get() as Row).n as number,
    );
  }
  since(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const rows = this.#q("SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit);
    return Promise.resolve((rows as Row[]).map(toMsg));
  }
  seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const r = this.#q("SELECT seq, ts FROM messages WHERE sender = ? AND mid = ?").get(sender, mid) as
      | Row
      | undefined;
    return Promise.resolve(r ? { seq: Number(r.seq), ts: Number(r.ts) } : null);
  }
  pending(user: string, afterSeq: number, limit: number, device?: QueueOwner): Promise<StoredMessage[]> {
    const u = this.#q("SELECT created_seq FROM users WHERE name = ?").get(user) as Row | undefined;
    if (!u) return Promise.resolve([]);
    const own = device?.own ? 1 : 0;
    const p = {
      u: user,
      lo: Math.max(Number(u.created_seq), afterSeq, device?.sinceSeq ?? 0),
      cur: device?.cursor ?? user,
      own,
      lim: limit,
    };
    const rows: Row[] = [];
    for (const sql of [PENDING_SQL.dmIn, PENDING_SQL.rooms, PENDING_SQL.broadcasts]) {
      rows.push(...this.#q(sql).all(p) as Row[]);
    }
    if (own) rows.push(...this.#q(PENDING_SQL.dmOwn).all(p) as Row[]);
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
    this.#db.exec("PRAGMA synchronous=NORMAL");
    try {
      this.#tx(() => {
        for (const a of sets) this.#acks(a.user, a.acks);
      });
    } finally {
      this.#db.exec("PRAGMA synchronous=FULL");
    }
  }

  /** Cursor moves, inside a transaction (a cursor never moves back). */
  #acks(user: string, acks: readonly { conv: string; seq: number }[]): void {
    const st = this.#q(
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
    // The running size is computed from the row headers (length() of a blob does not read it), so
    // only the rows that fit are loaded.
    const rows = this.#q(
      `SELECT m.* FROM messages m JOIN (
         SELECT seq, SUM(LENGTH(body)) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS upto,
                ROW_NUMBER() OVER (ORDER BY seq DESC) AS n
         FROM messages WHERE conv = :c AND ts >= :since AND seq > :after ORDER BY seq DESC LIMIT :lim
       ) w ON w.seq = m.seq WHERE w.n = 1 OR w.upto <= :max ORDER BY m.seq DESC`,
    ).all({ c: conv, since, after: afterSeq, lim: limit, max: maxBytes }) as Row[];
    return Promise.resolve(rows.map(toMsg).reverse());
  }

  createRoom(
    r: { name: string; createdBy: string; createdAt: number; members: RoomMember[] },
  ): Promise<boolean> {
    return Promise.resolve(this.#tx(() => {
      const c = this.#q("INSERT OR IGNORE INTO rooms (name, created_by, created_at) VALUES (?, ?, ?)")
        .run(r.name, r.createdBy, r.createdAt);
      if (Number(c.changes) !== 1) return false;
      for (const m of r.members) this.#insertMember(r.name, m);
      return true;
    }));
  }
  #insertMember(room: string, m: RoomMember): void {
    this.#q(
      `INSERT INTO room_members (room, user, since_seq, admin) VALUES (?, ?, ?, ?)
       ON CONFLICT (room, user) DO UPDATE SET admin = MAX(admin, excluded.admin)`,
    ).run(room, m.user, m.sinceSeq, m.admin ? 1 : 0);
  }
  getRoom(name: string): Promise<RoomRow | null> {
    const r = this.#q("SELECT * FROM rooms WHERE name = ?").get(name) as Row | undefined;
    if (!r) return Promise.resolve(null);
    return Promise.resolve(this.#roomRow(r));
  }
  #roomRow(r: Row): RoomRow {
    const members = (this.#q("SELECT user, since_seq, admin FROM room_members WHERE room = ? ORDER BY user")
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
    this.#q("DELETE FROM room_members WHERE room = ? AND user = ?").run(room, user);
    return Promise.resolve();
  }
  roomsOf(user: string): Promise<RoomRow[]> {
    const rows = this.#q(
      "SELECT r.* FROM rooms r JOIN room_members m ON m.room = r.name WHERE m.user = ? ORDER BY r.name",
    ).all(user) as Row[];
    return Promise.resolve(rows.map((r) => this.#roomRow(r)));
  }

  appendRoomLog(room: string, epoch: number, entry: string): Promise<boolean> {
    return Promise.resolve(this.#tx(() => {
      const n = this.#q("SELECT COUNT(*) AS n FROM room_log WHERE room = ?").get(room) as Row;
      if (Number(n.n) !== epoch) return false;
      this.#q("INSERT INTO room_log (room, epoch, entry) VALUES (?, ?, ?)").run(room, epoch, entry);
      return true;
    }));
  }
  roomLog(room: string): Promise<string[]> {
    const rows = this.#q("SELECT entry FROM room_log WHERE room = ? ORDER BY epoch").all(room) as Row[];
    return Promise.resolve(rows.map((r) => r.entry as string));
  }

  putIdentity(user: string, identity: string, spk: string): Promise<void> {
    this.#tx(() => {
      const old = this.#q("SELECT identity FROM key_identity WHERE user = ?").get(user) as Row | undefined;
      // A new identity invalidates the one-time prekeys made for the old one.
      if (old && old.identity !== identity) this.#q("DELETE FROM key_prekeys WHERE user = ?").run(user);
      this.#q(
        `INSERT INTO key_identity (user, identity, spk) VALUES (?, ?, ?)
         ON CONFLICT (user) DO UPDATE SET identity = excluded.identity, spk = excluded.spk`,
      ).run(user, identity, spk);
    });
    return Promise.resolve();
  }
  addPrekeys(user: string, opks: { id: number; pub: string }[]): Promise<void> {
    const ins = this.#q("INSERT OR REPLACE INTO key_prekeys (user, id, pub) VALUES (?, ?, ?)");
    this.#tx(() => {
      for (const k of opks) ins.run(user, k.id, JSON.stringify(k));
    });
    return Promise.resolve();
  }
  takeBundle(user: string, withOpk = true): Promise<KeyBundleRow | null> {
    return Promise.resolve(this.#tx(() => {
      const r = this.#q("SELECT identity, spk FROM key_identity WHERE user = ?").get(user) as Row | undefined;
      if (!r) return null;
      const k = withOpk
        ? this.#q("SELECT id, pub FROM key_prekeys WHERE user = ? ORDER BY id LIMIT 1").get(user) as
          | Row
          | undefined
        : undefined;
      if (k) this.#q("DELETE FROM key_prekeys WHERE user = ? AND id = ?").run(user, k.id as number);
      return { identity: r.identity as string, spk: r.spk as string, opk: k ? k.pub as string : null };
    }));
  }
  countPrekeys(user: string): Promise<number> {
    return Promise.resolve(
      (this.#q("SELECT COUNT(*) AS n FROM key_prekeys WHERE user = ?").get(user) as Row).n as number,
    );
  }

  addDevice(user: string, name: string, created: number, sinceSeq: number): Promise<number> {
    return Promise.resolve(this.#tx(() => {
      const n = this.#q("SELECT COALESCE(MAX(device), 0) AS n FROM devices WHERE user = ?").get(user) as Row;
      const id = Number(n.n) + 1;
      this.#q("INSERT INTO devices (user, device, name, created, since_seq) VALUES (?, ?, ?, ?, ?)")
        .run(user, id, name, created, sinceSeq);
      return id;
    }));
  }
  devices(user: string): Promise<DeviceRow[]> {
    const rows = this.#q("SELECT * FROM devices WHERE user = ? ORDER BY device").all(user) as Row[];
    return Promise.resolve(rows.map((r) => ({
      device: Number(r.device),
      name: String(r.name),
      created: Number(r.created),
      sinceSeq: Number(r.since_seq),
      removed: r.removed === null ? null : Number(r.removed),
    })));
  }
  removeDevice(user: string, device: number, now: number): Promise<boolean> {
    return Promise.resolve(this.#tx(() => {
      const r = this.#q("UPDATE devices SET removed = ? WHERE user = ? AND device = ? AND removed IS NULL")
        .run(now, user, device);
      if (Number(r.changes) !== 1) return false;
      const key = deviceAddress(user, device);
      this.#q("DELETE FROM key_identity WHERE user = ?").run(key);
      this.#q("DELETE FROM key_prekeys WHERE user = ?").run(key);
      return true;
    }));
  }
  resetDevices(user: string, now: number): Promise<void> {
    this.#tx(() => {
      this.#q("UPDATE devices SET removed = ? WHERE user = ? AND removed IS NULL").run(now, user);
      for (const t of ["key_identity", "key_prekeys"]) {
        this.#q(`DELETE FROM ${t} WHERE user = ? OR substr(user, 1, ?) = ?`).run(
          user,
          user.length + 1,
          `${user}/`,
        );
      }
    });
    return Promise.resolve();
  }

  addToken(user: string, hash: string, expires: number): Promise<void> {
    this.#q("INSERT OR REPLACE INTO tokens (hash, user, expires) VALUES (?, ?, ?)").run(hash, user, expires);
    return Promise.resolve();
  }
  tokenUser(hash: string, now: number): Promise<string | null> {
    const r = this.#q("SELECT user FROM tokens WHERE hash = ? AND expires > ?").get(hash, now) as
      | Row
      | undefined;
    return Promise.resolve(r ? r.user as string : null);
  }
  dropTokens(user: string): Promise<void> {
    this.#q("DELETE FROM tokens WHERE user = ?").run(user);
    return Promise.resolve();
  }
  dropToken(hash: string): Promise<boolean> {
    return Promise.resolve(Number(this.#q("DELETE FROM tokens WHERE hash = ?").run(hash).changes) > 0);
  }
  pruneTokens(user: string, keep: number, now: number): Promise<void> {
    this.#tx(() => {
      this.#q("DELETE FROM tokens WHERE expires <= ?").run(now);
      this.#q(
        `DELETE FROM tokens WHERE user = ? AND hash NOT IN
         (SELECT hash FROM tokens WHERE user = ? ORDER BY expires DESC LIMIT ?)`,
      ).run(user, user, keep);
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#db.isOpen) {
      this.#st.clear();
      this.#db.close();
    }
    return Promise.resolve();
  }
}

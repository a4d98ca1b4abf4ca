/**
 * `Store` on PostgreSQL (npm `postgres`), for several server nodes sharing one state. Migrations run on
 * open inside one transaction under an advisory lock, so nodes starting together apply them once.
 * Sequence numbers are assigned here, under a transaction-scoped advisory lock held until commit: they
 * are gap-free and become visible in order on every node, so a node that missed a bus message can
 * catch up with `seq > last`. Acks commit without waiting for the WAL flush (an ack is a hint, as in
 * the SQLite store). This file (messages, acks, rooms, nodes), pg_messages.ts (a batch's writes: one
 * statement for its messages, one for its acks), pg_accounts.ts (the rest) and pg_migrations.ts are
 * the only places that speak Postgres SQL. PostgreSQL out of reach, or slower than
 * `STATEMENT_TIMEOUT_MS`, is `StoreUnavailable` from every method (pg_errors.ts).
 */
import postgres from "postgres";
import { type Clock, systemClock } from "../../common/clock.ts";
import { fromHex, toHex } from "../../common/bytes.ts";
import { PG_MIGRATIONS } from "./pg_migrations.ts";
import { BUS_PROTOCOL } from "../bus/bus_event.ts";
import { backoffDelay, STORE_RECONNECT } from "../../common/backoff.ts";
import { classifyPgError, guardCalls, methodNames } from "./pg_errors.ts";
import {
  acksQuery,
  freshInsertQuery,
  HISTORY_SQL,
  insertQuery,
  isResend,
  key,
  raiseSeqFloor,
  seqLockGeneric,
  seqTopSql,
  type Tx,
} from "./pg_messages.ts";
import { n, PgAccounts, type Row } from "./pg_accounts.ts";
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
} from "./store.ts";

/**
 * The longest a statement may run (PostgreSQL cancels it) and, a second more, the longest any call
 * waits for an answer (pg_errors.ts `guardCalls`); both end in `StoreUnavailable`.
 */
export const STATEMENT_TIMEOUT_MS = 5000;

/** How long a control is kept for nodes to apply from the store (cluster.ts), ms. */
const CONTROLS_KEPT_MS = 86_400_000;

/** Advisory lock keys: schema migrations, and the message sequence. */
const MIGRATE_LOCK = 0x50617231;
const SEQ_LOCK = 0x50617232;

const bytes = (b: unknown): Uint8Array => {
  const u = b as Uint8Array;
  return new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
};

/**
 * `bytea` both ways through the runtime's own hex codec (the client library's goes through its
 * `Buffer`, hex in JavaScript here: a node reads every message's body back, issue 37).
 */
const BYTEA = {
  to: 17,
  from: [17],
  serialize: (x: Uint8Array) => `\\x${toHex(x)}`,
  parse: (x: string) => fromHex(x.slice(2)),
};

const toMsg = (r: Row): StoredMessage => ({
  seq: n(r.seq),
  mid: r.mid as string,
  sender: r.sender as string,
  kind: r.kind as StoredMessage["kind"],
  target: r.target as string,
  conv: r.conv as string,
  ts: n(r.ts),
  body: bytes(r.body),
});

/** A connection pool of the npm `postgres` client (the accounts half takes it too). */
export type Sql = postgres.Sql;

async function seqTop(tx: Tx): Promise<number> {
  const [r] = await tx`SELECT ${seqTopSql(tx)} AS n`;
  return n(r.n);
}

/**
 * Which messages of `batch` repeat the sender and mid of one before them (null: none does), by
 * sender, then mid: no joined key built and hashed per message (~2 µs each, issue 73).
 */
function repeats(batch: readonly NewMessage[]): boolean[] | null {
  const seen = new Map<string, Set<string>>();
  let out: boolean[] | null = null;
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    let mids = seen.get(m.sender);
    if (!mids) seen.set(m.sender, mids = new Set());
    if (!mids.has(m.mid)) mids.add(m.mid);
    else (out ??= new Array<boolean>(batch.length).fill(false))[i] = true;
  }
  return out;
}

export class PostgresStore extends PgAccounts implements Store {
  #closed = false;

  private constructor(sql: Sql, clock: Clock) {
    super(sql, clock);
  }

  /**
   * Connects to `url` (postgres://USER@HOST:PORT/DB; `?sslmode=require` for TLS without verification)
   * and brings the schema up to date. `tlsCa` (PEM) makes TLS required and verified against that CA;
   * `clock` dates the device rows held in memory (pg_accounts.ts `DEVICES_FRESH_MS`); `onStatement`
   * hears the text of every statement sent (tests count a DM's statements: tests/pg_dm_cost_test.ts).
   */
  static async open(
    url: string,
    o: {
      maxConnections?: number;
      tlsCa?: string;
      clock?: Clock;
      timeoutMs?: number;
      onStatement?: (text: string) => void;
    } = {},
  ): Promise<PostgresStore> {
    const heard = o.onStatement;
    const timeoutMs = o.timeoutMs ?? STATEMENT_TIMEOUT_MS;
    const sql = postgres(url, {
      max: o.maxConnections ?? 8,
      onnotice: () => {},
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      // The client's own back-off grows to 20 s between connects (3^n / 100 s): a database back after a
      // short outage stayed unused for seconds (issue 74). Its connections are tried again within 250 ms.
      backoff: (retries: number) => backoffDelay(retries - 1, STORE_RECONNECT) / 1000,
      // PostgreSQL cancels a statement past it (57014: StoreUnavailable, pg_errors.ts).
      connection: { statement_timeout: timeoutMs },
      types: { bytea: BYTEA },
      ...(heard ? { debug: (_conn: number, text: string) => heard(text) } : {}),
      ...(o.tlsCa ? { ssl: { ca: o.tlsCa } } : {}),
    });
    const s = new PostgresStore(sql, o.clock ?? systemClock);
    try {
      await s.#migrate();
    } catch (e) {
      await sql.end({ timeout: 1 });
      throw classifyPgError(e);
    }
    // Every call answered within a second more than PostgreSQL's own bound, even when it hangs.
    guardCalls(s, methodNames(PostgresStore.prototype).filter((m) => m !== "close"), timeoutMs + 1000);
    return s;
  }

  async #migrate(): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`SET LOCAL statement_timeout = 0`; // a migration may take its time
      await tx`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_version (v INTEGER NOT NULL)`;
      const rows = await tx`SELECT v FROM schema_version`;
      let v = rows.length ? n(rows[0]!.v) : 0;
      if (!rows.length) await tx`INSERT INTO schema_version (v) VALUES (0)`;
      for (; v < PG_MIGRATIONS.length; v++) await tx.unsafe(PG_MIGRATIONS[v]!).simple();
      await tx`UPDATE schema_version SET v = ${v}`;
    });
  }

  async storedBytes(sender: string): Promise<number> {
    return n(
      (await this.sql`SELECT COALESCE(SUM(octet_length(body)), 0) AS n FROM messages
      WHERE sender = ${sender}`)[0]!.n,
    );
  }
  async sweepMessages(before: number, limit: number): Promise<number> {
    // Acknowledged by every recipient (as in the SQLite store).
    const r = await this.sql`DELETE FROM messages WHERE seq IN (
      SELECT m.seq FROM messages m WHERE m.ts < ${before} AND (
        (m.kind = 'user' AND (m.target = m.sender OR COALESCE((SELECT seq FROM cursors c
           WHERE c.user_name = m.target AND c.conv = m.conv), 0) >= m.seq))
        OR (m.kind = 'room' AND NOT EXISTS (SELECT 1 FROM room_members rm
           WHERE rm.room = m.target AND rm.user_name <> m.sender AND rm.since_seq < m.seq
           AND COALESCE((SELECT seq FROM cursors c WHERE c.user_name = rm.user_name AND c.conv = m.conv), 0)
             < m.seq))
        OR (m.kind = 'broadcast' AND NOT EXISTS (SELECT 1 FROM users u
           WHERE u.name <> m.sender AND u.created_seq < m.seq
           AND COALESCE((SELECT seq FROM cursors c WHERE c.user_name = u.name AND c.conv = m.conv), 0)
             < m.seq)))
      ORDER BY m.ts LIMIT ${limit})`;
    return r.count;
  }

  async appendMessages(batch: NewMessage[], acks: readonly AckSet[] = []): Promise<(StoredMessage | null)[]> {
    if (batch.length === 0) {
      if (acks.some((a) => a.acks.length)) {
        await this.sql.begin((tx) => [tx`SET LOCAL synchronous_commit = off`, acksQuery(tx, acks)]);
      }
      return [];
    }
    // A resend of a (sender, mid) already in this batch is a duplicate too: only its first stays.
    const again = repeats(batch);
    const rows = again ? batch.filter((_, i) => !again[i]) : batch;
    const seqs = await this.#insert(rows, acks);
    // A row is the message itself given its seq once committed (no copy per message, as table_messages.ts).
    let j = 0; // rows[j] is batch[i] when batch[i] is the first of its key
    return batch.map((m, i) => {
      if (again?.[i]) return null;
      const seq = seqs[j++];
      if (seq === undefined) return null;
      const row = m as StoredMessage;
      row.seq = seq;
      return row;
    });
  }

  /**
   * Inserts `rows` (no two alike) with the acks in one transaction; the seq of each row (undefined:
   * stored before). One round trip after BEGIN: the lock with the plan mode, the insert and the acks,
   * pipelined (each statement starts after the one before it: the insert reads seqs under the lock).
   * A row stored before fails the common insert and rolls it back; the batch is then written again
   * leaving resends out (pg_messages.ts `freshInsertQuery`, `insertQuery`).
   */
  async #insert(rows: readonly NewMessage[], acks: readonly AckSet[]): Promise<(number | undefined)[]> {
    const acking = acks.some((a) => a.acks.length);
    const write = (insert: (tx: Tx) => unknown) =>
      this.sql.begin((tx) => [
        seqLockGeneric(tx, SEQ_LOCK),
        insert(tx),
        ...(acking ? [acksQuery(tx, acks)] : []),
      ]) as unknown as Promise<Row[][]>;
    try {
      const [r] = (await write((tx) => freshInsertQuery(tx, rows)))[1]!;
      if (n(r!.n) !== rows.length) throw new Error(`${n(r!.n)} of ${rows.length} rows inserted`);
      return rows.map((_, i) => n(r!.first) + i);
    } catch (e) {
      if (!isResend(e)) throw e;
    }
    const put = await write((tx) => insertQuery(tx, rows));
    const seqs = new Map(put[1]!.map((r) => [key(r as { sender: string; mid: string }), n(r.seq)]));
    return rows.map((m) => seqs.get(key(m)));
  }
  async lastSeq(): Promise<number> {
    return await seqTop(this.sql);
  }
  async stats(): Promise<StoreStats> {
    const [r] = await this.sql`SELECT
      (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM rooms) AS rooms,
      (SELECT COUNT(*) FROM messages) AS messages,
      (SELECT COALESCE(SUM(octet_length(body)), 0) FROM messages) AS body,
      current_database() AS db, pg_database_size(current_database()) AS size`;
    const o = this.sql.options;
    return {
      users: n(r!.users),
      rooms: n(r!.rooms),
      messages: n(r!.messages),
      bodyBytes: n(r!.body),
      where: `postgres://${o.user}@${o.host[0]}:${o.port[0]}/${r!.db}`, // never the password
      sizeBytes: n(r!.size),
    };
  }
  async since(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return (await this.sql`SELECT * FROM messages WHERE seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`)
      .map(toMsg);
  }
  async sweepExpired(now: number, limit: number): Promise<number> {
    return await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${SEQ_LOCK})`;
      const rows = await tx`DELETE FROM messages WHERE seq IN (SELECT seq FROM messages
        WHERE expires IS NOT NULL AND expires <= ${now} LIMIT ${limit}) RETURNING seq`;
      if (rows.length) await raiseSeqFloor(tx, Math.max(...rows.map((r: Row) => n(r.seq))));
      return rows.length;
    }) as number;
  }
  async unsendMessage(sender: string, mid: string): Promise<number | null> {
    return await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${SEQ_LOCK})`;
      const [r] = await tx`DELETE FROM messages WHERE sender = ${sender} AND mid = ${mid}
        RETURNING seq, octet_length(body) AS n`;
      if (!r) return null;
      await raiseSeqFloor(tx, n(r.seq));
      return n(r.n);
    }) as number | null;
  }
  async seqOf(sender: string, mid: string): Promise<{ seq: number; ts: number } | null> {
    const [r] = await this.sql`SELECT seq, ts FROM messages WHERE sender = ${sender} AND mid = ${mid}`;
    return r ? { seq: n(r.seq), ts: n(r.ts) } : null;
  }
  async pending(
    user: string,
    afterSeq: number,
    limit: number,
    device?: QueueOwner,
  ): Promise<StoredMessage[]> {
    const cur = device?.cursor ?? user, since = device?.sinceSeq ?? 0, own = device?.own === true;
    // One arm per way a message reaches the user, each an index range in seq order (an OR across
    // kinds read every DM on the server at each sync); merged by seq.
    const unacked = this.sql`m.seq > COALESCE((SELECT seq FROM cursors c
      WHERE c.user_name = ${cur} AND c.conv = m.conv), 0)`;
    const rows = await this.sql`
      WITH lo AS (SELECT GREATEST(created_seq, ${afterSeq}, ${since}) AS s FROM users WHERE name = ${user})
      (SELECT m.* FROM lo, messages m WHERE m.kind = 'user' AND m.target = ${user} AND m.seq > lo.s
        AND (m.sender <> ${user} OR ${own}) AND ${unacked} ORDER BY m.seq LIMIT ${limit})
      UNION ALL
      (SELECT m.* FROM lo, messages m WHERE ${own} AND m.sender = ${user} AND m.kind = 'user'
        AND m.target <> ${user} AND m.seq > lo.s AND ${unacked} ORDER BY m.seq LIMIT ${limit})
      UNION ALL
      (SELECT m.* FROM lo, room_members rm, messages m WHERE rm.user_name = ${user} AND m.kind = 'room'
        AND m.target = rm.room AND m.seq > GREATEST(lo.s, rm.since_seq) AND (m.sender <> ${user} OR ${own})
        AND ${unacked} ORDER BY m.seq LIMIT ${limit})
      UNION ALL
      (SELECT m.* FROM lo, messages m WHERE m.kind = 'broadcast' AND m.seq > lo.s
        AND (m.sender <> ${user} OR ${own}) AND ${unacked} ORDER BY m.seq LIMIT ${limit})
      ORDER BY seq LIMIT ${limit}`;
    return rows.map(toMsg);
  }
  ack(user: string, conv: string, seq: number): Promise<void> {
    return this.ackMany(user, [{ conv, seq }]);
  }
  async ackMany(user: string, acks: readonly { conv: string; seq: number }[]): Promise<void> {
    if (!acks.length) return;
    await this.sql.begin((tx) => [tx`SET LOCAL synchronous_commit = off`, acksQuery(tx, [{ user, acks }])]);
  }
  async history(
    conv: string,
    since: number,
    afterSeq: number,
    limit: number,
    maxBytes = Number.MAX_SAFE_INTEGER,
    beforeSeq = Number.MAX_SAFE_INTEGER,
  ): Promise<StoredMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) return [];
    const before = Math.min(Math.ceil(beforeSeq), Number.MAX_SAFE_INTEGER);
    const rows = await this.sql.unsafe(HISTORY_SQL, [conv, since, afterSeq, limit, maxBytes, before], {
      prepare: true,
    });
    return rows.map(toMsg);
  }

  async createRoom(
    r: { name: string; createdBy: string; createdAt: number; members: RoomMember[] },
  ): Promise<boolean> {
    return await this.sql.begin(async (tx) => {
      const c = await tx`INSERT INTO rooms (name, created_by, created_at)
        VALUES (${r.name}, ${r.createdBy}, ${r.createdAt}) ON CONFLICT (name) DO NOTHING`;
      if (c.count !== 1) return false;
      for (const m of r.members) await this.#insertMember(tx, r.name, m);
      return true;
    }) as boolean;
  }
  async #insertMember(sql: postgres.TransactionSql | Sql, room: string, m: RoomMember): Promise<void> {
    await sql`INSERT INTO room_members (room, user_name, since_seq, admin)
      VALUES (${room}, ${m.user}, ${m.sinceSeq}, ${m.admin})
      ON CONFLICT (room, user_name) DO UPDATE SET admin = room_members.admin OR excluded.admin`;
  }
  async getRoom(name: string): Promise<RoomRow | null> {
    const [r] = await this.sql`SELECT * FROM rooms WHERE name = ${name}`;
    return r ? await this.#roomRow(r) : null;
  }
  async #roomRow(r: Row): Promise<RoomRow> {
    const rows = await this.sql`SELECT user_name, since_seq, admin FROM room_members
      WHERE room = ${r.name as string} ORDER BY user_name`;
    return {
      name: r.name as string,
      createdBy: r.created_by as string,
      createdAt: n(r.created_at),
      members: rows.map((m) => ({ user: m.user_name as string, sinceSeq: n(m.since_seq), admin: !!m.admin })),
      open: !!r.is_open,
      description: r.description as string,
    };
  }
  async addMember(room: string, m: RoomMember): Promise<void> {
    await this.#insertMember(this.sql, room, m);
  }
  async removeMember(room: string, user: string): Promise<void> {
    await this.sql`DELETE FROM room_members WHERE room = ${room} AND user_name = ${user}`;
  }
  async roomsOf(user: string): Promise<RoomRow[]> {
    const rows = await this.sql`SELECT r.* FROM rooms r JOIN room_members m ON m.room = r.name
      WHERE m.user_name = ${user} ORDER BY r.name`;
    return await Promise.all(rows.map((r) => this.#roomRow(r)));
  }

  async appendRoomLog(room: string, epoch: number, entry: string): Promise<boolean> {
    return await this.sql.begin(async (tx) => {
      const [c] = await tx`SELECT COUNT(*) AS n FROM room_log WHERE room = ${room}`;
      if (n(c!.n) !== epoch) return false;
      const r = await tx`INSERT INTO room_log (room, epoch, entry) VALUES (${room}, ${epoch}, ${entry})
        ON CONFLICT (room, epoch) DO NOTHING`;
      return r.count === 1;
    }) as boolean;
  }
  async roomLog(room: string): Promise<string[]> {
    const rows = await this.sql`SELECT entry FROM room_log WHERE room = ${room} ORDER BY epoch`;
    return rows.map((r) => r.entry as string);
  }
  async setRoomPublic(room: string, p: { open?: boolean; description?: string }): Promise<boolean> {
    const r = await this.sql`UPDATE rooms SET is_open = COALESCE(${p.open ?? null}::boolean, is_open),
      description = COALESCE(${p.description ?? null}::text, description) WHERE name = ${room}`;
    return r.count === 1;
  }
  async openRooms(limit: number): Promise<OpenRoomRow[]> {
    const rows = await this.sql`SELECT r.name, r.description,
      (SELECT COUNT(*) FROM room_members m WHERE m.room = r.name) AS members
      FROM rooms r WHERE r.is_open ORDER BY r.name LIMIT ${limit}`;
    return rows.map((r) => ({
      name: r.name as string,
      members: n(r.members),
      description: r.description as string,
    }));
  }

  /** Marks node `id` alive now (every node, every second), saying whether it has a bus and its bus protocol. */
  async heartbeat(id: string, bus: boolean, now: number, proto = BUS_PROTOCOL): Promise<void> {
    await this.sql`INSERT INTO nodes (id, seen_at, bus, proto) VALUES (${id}, ${now}, ${bus}, ${proto})
      ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, bus = excluded.bus, proto = excluded.proto`;
  }
  /** Other nodes heard from within `withinMs` of `now`, with the bus protocol each speaks (1: not said). */
  async nodeProtocols(except: string, now: number, withinMs: number): Promise<Map<string, number>> {
    const rows = await this.sql`SELECT id, proto FROM nodes WHERE id <> ${except} AND seen_at > ${
      now - withinMs
    }`;
    return new Map(rows.map((r) => [r.id as string, n(r.proto)]));
  }
  /** Every other node this store knows (a row in `nodes`: running, or stopped without leaving), by id. */
  async knownNodes(except: string): Promise<string[]> {
    const rows = await this.sql`SELECT id FROM nodes WHERE id <> ${except} ORDER BY id LIMIT 5`;
    return rows.map((r) => r.id as string);
  }
  /** Other nodes heard from within `withinMs` of `now`, by id (`nodeProtocols`'s keys: one rule of "live"). */
  async liveNodes(except: string, now: number, withinMs: number): Promise<string[]> {
    return [...(await this.nodeProtocols(except, now, withinMs)).keys()].sort();
  }
  /**
   * A control (a kick, a role change, a device change: its bus event as JSON) sent by node `origin`
   * at `at`, for every node to apply from here too (cluster.ts); those over a day old go.
   */
  async putControl(origin: string, at: number, event: string): Promise<void> {
    await this.sql.begin((tx) => [
      tx`DELETE FROM controls WHERE at < ${at - CONTROLS_KEPT_MS}`,
      tx`INSERT INTO controls (at, origin, event) VALUES (${at}, ${origin}, ${event})`,
    ]);
  }
  /** Controls after id `after`, oldest first (at most `limit`). */
  async controlsSince(
    after: number,
    limit: number,
  ): Promise<{ id: number; at: number; origin: string; event: string }[]> {
    const rows = await this.sql`SELECT id, at, origin, event FROM controls WHERE id > ${after} ORDER BY id
      LIMIT ${limit}`;
    return rows.map((r) => ({
      id: n(r.id),
      at: n(r.at),
      origin: r.origin as string,
      event: r.event as string,
    }));
  }
  /** The newest control's id (0: none). */
  async lastControl(): Promise<number> {
    return n((await this.sql`SELECT COALESCE(MAX(id), 0) AS n FROM controls`)[0]!.n);
  }

  /** A node stopping cleanly leaves at once (a killed one ages out). */
  async leave(id: string): Promise<void> {
    await this.sql`DELETE FROM nodes WHERE id = ${id}`;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.sql.end({ timeout: 5 });
  }
}

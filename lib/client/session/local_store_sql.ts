/**
 * What the local store's tables share, without the database file (local_store.ts opens it: rule 2):
 * `SqlDb`, the part of node:sqlite's DatabaseSync they use; `writeTx`, the one way to write (a
 * savepoint inside an open transaction, else BEGIN IMMEDIATE, whose lock SQLite's busy timeout
 * waits for); the schema's migrations, applied in order once each (`PRAGMA user_version` counts
 * them); and `target`, a stored conversation back as a `Target`.
 */
import type { Target } from "../backend.ts";

/** One row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/** A value a statement takes. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** A prepared statement (node:sqlite's StatementSync, the methods used here). */
export interface SqlStatement {
  /** Runs the statement. */
  run(...args: SqlValue[]): unknown;
  /** The first row, or undefined. */
  get(...args: SqlValue[]): unknown;
  /** Every row. */
  all(...args: SqlValue[]): unknown[];
}

/** The database as the tables use it (node:sqlite's DatabaseSync satisfies it). */
export interface SqlDb {
  /** False once closed. */
  readonly isOpen: boolean;
  /** True inside an open transaction. */
  readonly isTransaction: boolean;
  /** Runs one or more statements without results. */
  exec(sql: string): void;
  /** Compiles one statement. */
  prepare(sql: string): SqlStatement;
}

/** The migrations, oldest first; never edit one that shipped, add the next. */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY, mid TEXT NOT NULL, ts INTEGER NOT NULL, sender TEXT NOT NULL,
     kind TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS messages_ts ON messages (ts);`,
  `ALTER TABLE messages ADD COLUMN seen INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX IF NOT EXISTS messages_mid ON messages (mid);
   CREATE INDEX IF NOT EXISTS messages_unseen ON messages (seen) WHERE seen = 0;
   CREATE TABLE IF NOT EXISTS outbox (
     n INTEGER PRIMARY KEY AUTOINCREMENT, mid TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL,
     kind TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL, resend INTEGER NOT NULL DEFAULT 1
   );`,
  // Issue 34.1: a message the server can never take (too large, malformed) is kept, not resent.
  `ALTER TABLE outbox ADD COLUMN failed TEXT;
   ALTER TABLE outbox ADD COLUMN drops INTEGER NOT NULL DEFAULT 0;`,
  // Issue 39: replies, edits (earlier texts kept, sealed like the text), deletion, reactions.
  `ALTER TABLE messages ADD COLUMN reply_to TEXT;
   ALTER TABLE messages ADD COLUMN edited_at INTEGER;
   ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE outbox ADD COLUMN reply_to TEXT;
   CREATE TABLE IF NOT EXISTS edits (
     seq INTEGER NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, text NOT NULL, PRIMARY KEY (seq, n)
   );
   CREATE TABLE IF NOT EXISTS reactions (
     seq INTEGER NOT NULL, emoji TEXT NOT NULL, user TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (seq, emoji, user)
   );`,
  // Issue 39.5: disappearing messages, per conversation (the latest setting wins).
  `ALTER TABLE messages ADD COLUMN expires_at INTEGER;
   CREATE INDEX IF NOT EXISTS messages_expires ON messages (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE IF NOT EXISTS expiry (conv TEXT PRIMARY KEY, seconds INTEGER NOT NULL, at INTEGER NOT NULL);`,
  // Issue 39: a conversation's setting line (the disappearing time) is no text: never edited or reacted to.
  `ALTER TABLE messages ADD COLUMN setting INTEGER NOT NULL DEFAULT 0;`,
  // Muted conversations (`/mute`, local_mutes.ts).
  `CREATE TABLE IF NOT EXISTS muted (conv TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  // Room topics (`/topic`, local_topics.ts): the newest setting of each room.
  `CREATE TABLE IF NOT EXISTS topics (
     conv TEXT PRIMARY KEY, text TEXT NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL
   );`,
  // Highlight words (`/highlight`, local_highlights.ts).
  `CREATE TABLE IF NOT EXISTS highlights (word TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  // Issue 69 N2: a reply names the sender of the message it answers (ids are per sender).
  `ALTER TABLE messages ADD COLUMN reply_by TEXT;`,
  // Issue 71.10: the buffer list's order (local_buffer_order.ts), so numbers stay across restarts.
  `CREATE TABLE IF NOT EXISTS buffer_order (pos INTEGER PRIMARY KEY, name TEXT NOT NULL);`,
  // Issue 69 N4: the time a text's sender sealed in it (its edit window starts there, not at the server's stamp).
  `ALTER TABLE messages ADD COLUMN sent_at INTEGER;`,
  // Issue 70: the outbox holds changes and settings too (`text` is then their sealed payload's JSON),
  // and a text keeps the conversation's disappearing time of when it was written (`ttl`, seconds).
  `ALTER TABLE outbox ADD COLUMN change INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE outbox ADD COLUMN ttl INTEGER;`,
];

/**
 * Brings the schema up to date (in one transaction); a database already there is left alone, without
 * taking the write lock (another process of the folder may hold it for long: LocalStore.exclusive).
 */
export function migrate(db: SqlDb): void {
  const version = () => Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
  if (version() >= SCHEMA.length) return;
  writeTx(db, () => {
    const v = version(); // read again under the lock: another process may have migrated meanwhile
    for (let i = v; i < SCHEMA.length; i++) db.exec(SCHEMA[i]!);
    if (v < SCHEMA.length) db.exec(`PRAGMA user_version=${SCHEMA.length}`);
  });
}

/** Runs `fn` in a transaction: a savepoint inside an open one, else BEGIN IMMEDIATE. */
export function writeTx<T>(db: SqlDb, fn: () => T): T {
  const nested = db.isTransaction;
  db.exec(nested ? "SAVEPOINT w" : "BEGIN IMMEDIATE");
  try {
    const r = fn();
    db.exec(nested ? "RELEASE w" : "COMMIT");
    return r;
  } catch (e) {
    db.exec(nested ? "ROLLBACK TO w; RELEASE w" : "ROLLBACK");
    throw e;
  }
}

/** The conversation stored as `kind` and `target` columns. */
export function target(kind: unknown, name: unknown): Target {
  return kind === "broadcast"
    ? { kind: "broadcast" }
    : { kind: kind as "user" | "room", name: name as string };
}

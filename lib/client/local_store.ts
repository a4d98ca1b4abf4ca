/**
 * The client's local database in its home folder (SQLite): received and sent messages as text,
 * so history survives acknowledgement on the server. One file per account and server; the
 * encryption layer keeps its keys and ratchet state in the same database (its own tables).
 *
 * A client folder is one device, and any number of processes may use it at once (the full-screen
 * client, scripted commands). So:
 * - `exclusive(fn)` runs `fn` holding the database's write lock (BEGIN IMMEDIATE, waited for
 *   asynchronously, never by blocking the event loop), after telling `onForeignChange` listeners
 *   when another process committed since — every change of crypto state happens inside it.
 * - `LocalStore.tx(db, fn)` is the one way to write: a savepoint inside an open transaction, else
 *   BEGIN IMMEDIATE (SQLite's busy timeout waits for the lock).
 * - `seen` marks messages a screen or `parley read` has shown; the rest are "new" at next start.
 * - `outbox` holds text the user sent that the server has not confirmed (typed while offline, or
 *   in flight); it is sent again with the same id, which the server deduplicates.
 *
 * Message and outbox text is sealed at rest (AES-256-GCM, random nonce per row, AD = the row's
 * other columns, so a text cannot be moved to another row) under a key the encryption layer hands
 * to `unlock()` (derived from the keystore key). Until then text can be neither read nor written
 * (`locked`); `unlock()` seals rows written in clear by older versions. The file is created 0600.
 */
import { DatabaseSync } from "node:sqlite";
import { utf8, utf8Strict } from "../common/bytes.ts";
import { openRecordSync, sealRecordSync } from "../crypto/at_rest.ts";
import { BackendError, type ChatMessage, type Target } from "./backend.ts";

type Row = Record<string, unknown>;

/** A message the user wrote that the server has not confirmed yet. */
export interface PendingMessage {
  mid: string;
  ts: number;
  to: Target;
  text: string;
}

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
];
/** How long `exclusive` waits for another process before giving up. */
const LOCK_WAIT_MS = 30_000;
/** The history key of each open database (static `insert` gets only the database). */
const KEYS = new WeakMap<DatabaseSync, Uint8Array>();

export class LocalStore {
  readonly db: DatabaseSync;
  readonly #foreign = new Set<() => void>();
  #dataVersion: number;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    privateFile(path);
    this.db = new DatabaseSync(path);
    // secure_delete: text replaced or deleted is overwritten, not left in free space.
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;");
    LocalStore.tx(this.db, () => {
      const v = Number((this.db.prepare("PRAGMA user_version").get() as Row).user_version);
      for (let i = v; i < SCHEMA.length; i++) this.db.exec(SCHEMA[i]!);
      if (v < SCHEMA.length) this.db.exec(`PRAGMA user_version=${SCHEMA.length}`);
    });
    this.#dataVersion = this.#version();
  }

  /** Sets the key that seals message text, and seals any text an older version left in clear. */
  unlock(key: Uint8Array): void {
    KEYS.set(this.db, key);
    const n = LocalStore.tx(this.db, () => {
      const old = this.db.prepare("SELECT * FROM messages WHERE typeof(text) = 'text'").all() as Row[];
      const upM = this.db.prepare("UPDATE messages SET text = ? WHERE seq = ?");
      for (const r of old) upM.run(seal(this.db, messageAd(r), r.text as string), r.seq as number);
      const pend = this.db.prepare("SELECT * FROM outbox WHERE typeof(text) = 'text'").all() as Row[];
      const upO = this.db.prepare("UPDATE outbox SET text = ? WHERE mid = ?");
      for (const r of pend) upO.run(seal(this.db, outboxAd(r), r.text as string), r.mid as string);
      return old.length + pend.length;
    });
    // The clear text is still in the WAL's older page images until a checkpoint copies the new ones back.
    if (n && !this.db.isTransaction) this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  static pathFor(home: string, user: string, server: string): string {
    return `${home}/${user}@${server.replace(/[^A-Za-z0-9.-]/g, "_")}.db`;
  }

  /** Runs `fn` in a transaction: a savepoint inside an open one, else BEGIN IMMEDIATE. */
  static tx<T>(db: DatabaseSync, fn: () => T): T {
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

  /** Calls `l` when another process changed the database (caches built from it are stale). */
  onForeignChange(l: () => void): void {
    this.#foreign.add(l);
  }

  #version(): number {
    return Number((this.db.prepare("PRAGMA data_version").get() as Row).data_version);
  }

  /**
   * Runs `fn` holding the database's write lock, one call at a time in this process; what `fn`
   * commits through `tx` is committed even when it throws afterwards.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => {
      await this.#lock();
      try {
        return await fn();
      } finally {
        if (this.db.isOpen && this.db.isTransaction) this.db.exec("COMMIT");
      }
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  async #lock(): Promise<void> {
    const end = Date.now() + LOCK_WAIT_MS;
    this.db.exec("PRAGMA busy_timeout=0");
    try {
      for (let wait = 2;; wait = Math.min(50, wait * 2)) {
        try {
          this.db.exec("BEGIN IMMEDIATE");
          break;
        } catch (e) {
          if (!/locked|busy/i.test(e instanceof Error ? e.message : "")) throw e;
          if (Date.now() > end) {
            throw new BackendError("folder_busy", "Another Parley process keeps the client folder locked");
          }
          await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
        }
      }
    } finally {
      this.db.exec("PRAGMA busy_timeout=10000");
    }
    const v = this.#version();
    if (v !== this.#dataVersion) {
      this.#dataVersion = v;
      for (const l of this.#foreign) l();
    }
  }

  save(ms: ChatMessage[], seen = true): void {
    LocalStore.tx(this.db, () => LocalStore.insert(this.db, ms, seen));
  }

  /** Inserts messages inside the caller's transaction (e.g. with crypto state). */
  static insert(db: DatabaseSync, ms: ChatMessage[], seen = false): void {
    const st = db.prepare(
      "INSERT OR IGNORE INTO messages (seq, mid, ts, sender, kind, target, text, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (const m of ms) {
      const row = {
        seq: m.seq,
        mid: m.mid,
        ts: m.ts,
        sender: m.from,
        kind: m.to.kind,
        target: m.to.name ?? "",
      };
      st.run(
        row.seq,
        row.mid,
        row.ts,
        row.sender,
        row.kind,
        row.target,
        seal(db, messageAd(row), m.text),
        seen ? 1 : 0,
      );
    }
  }

  /** The saved message with server sequence number `seq`, if any. */
  get(seq: number): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE seq = ?").get(seq) as Row | undefined;
    return r ? this.#message(r) : undefined;
  }

  /** The saved message with id `mid` sent by `from`, if any. */
  byMid(from: string, mid: string): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE mid = ? AND sender = ?").get(mid, from) as
      | Row
      | undefined;
    return r ? this.#message(r) : undefined;
  }

  /** Messages since `since` (ms), optionally of one conversation seen from `me`. Oldest first. */
  list(me: string, since: number, filter?: Target): ChatMessage[] {
    let sql = "SELECT * FROM messages WHERE ts >= ?";
    const args: (string | number)[] = [since];
    if (filter?.kind === "broadcast") sql += " AND kind = 'broadcast'";
    else if (filter?.kind === "room") {
      sql += " AND kind = 'room' AND target = ?";
      args.push(filter.name ?? "");
    } else if (filter?.kind === "user") {
      sql += " AND kind = 'user' AND ((sender = ? AND target = ?) OR (sender = ? AND target = ?))";
      args.push(filter.name ?? "", me, me, filter.name ?? "");
    }
    const rows = this.db.prepare(sql + " ORDER BY seq").all(...args) as Row[];
    return rows.map(this.#message);
  }

  /** The last `perConversation` shown messages of each conversation, oldest first. */
  recent(me: string, perConversation: number): ChatMessage[] {
    const rows = this.db.prepare(
      `SELECT * FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY kind,
           CASE WHEN kind = 'user' THEN (CASE WHEN sender = ? THEN target ELSE sender END) ELSE target END
           ORDER BY seq DESC) AS r
         FROM messages WHERE seen = 1)
       WHERE r <= ? ORDER BY seq`,
    ).all(me, perConversation) as Row[];
    return rows.map(this.#message);
  }

  /** Messages saved but never shown, oldest first. */
  unseen(): ChatMessage[] {
    return (this.db.prepare("SELECT * FROM messages WHERE seen = 0 ORDER BY seq").all() as Row[]).map(
      this.#message,
    );
  }

  /** True when `seq` was shown already (by this or another process on the folder). */
  isSeen(seq: number): boolean {
    return this.db.prepare("SELECT 1 FROM messages WHERE seq = ? AND seen = 1").get(seq) !== undefined;
  }

  markSeen(seqs: number[]): void {
    if (!seqs.length) return;
    LocalStore.tx(this.db, () => {
      const st = this.db.prepare("UPDATE messages SET seen = 1 WHERE seq = ?");
      for (const s of seqs) st.run(s);
    });
  }

  /**
   * Keeps text the user sent until the server confirms it. `resend`: sent again after a reconnect
   * (the full-screen client's outbox); scripted sends report failure instead and are never resent.
   */
  addPending(p: PendingMessage, resend = true): void {
    LocalStore.tx(this.db, () => {
      this.db.prepare(
        "INSERT OR IGNORE INTO outbox (mid, ts, kind, target, text, resend) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(p.mid, p.ts, p.to.kind, p.to.name ?? "", this.#sealPending(p), resend ? 1 : 0);
    });
  }

  /** The outbox entry `mid`, if it is still there. */
  pending(mid: string): PendingMessage | undefined {
    const r = this.db.prepare("SELECT * FROM outbox WHERE mid = ?").get(mid) as Row | undefined;
    return r ? this.#pending(r) : undefined;
  }

  /** Every unconfirmed message to send again, in the order they were written. */
  pendingAll(): PendingMessage[] {
    return (this.db.prepare("SELECT * FROM outbox WHERE resend = 1 ORDER BY n").all() as Row[]).map(
      this.#pending,
    );
  }

  /** The server confirmed `m` (same mid): it moves from the outbox into the history. */
  confirm(m: ChatMessage): void {
    LocalStore.tx(this.db, () => {
      this.db.prepare("DELETE FROM outbox WHERE mid = ?").run(m.mid);
      LocalStore.insert(this.db, [m], true);
    });
  }

  /** Drops an outbox entry the user was told failed. */
  dropPending(mid: string): void {
    LocalStore.tx(this.db, () => void this.db.prepare("DELETE FROM outbox WHERE mid = ?").run(mid));
  }

  #sealPending(p: PendingMessage): Uint8Array {
    return seal(
      this.db,
      outboxAd({ mid: p.mid, ts: p.ts, kind: p.to.kind, target: p.to.name ?? "" }),
      p.text,
    );
  }

  #message = (r: Row): ChatMessage => ({ ...toMessage(r), text: open(this.db, messageAd(r), r.text) });
  #pending = (r: Row): PendingMessage => ({ ...toPending(r), text: open(this.db, outboxAd(r), r.text) });

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function target(kind: unknown, name: unknown): Target {
  return kind === "broadcast"
    ? { kind: "broadcast" }
    : { kind: kind as "user" | "room", name: name as string };
}

function toMessage(r: Row): Omit<ChatMessage, "text"> {
  return {
    seq: r.seq as number,
    mid: r.mid as string,
    ts: r.ts as number,
    from: r.sender as string,
    to: target(r.kind, r.target),
  };
}

function toPending(r: Row): Omit<PendingMessage, "text"> {
  return { mid: r.mid as string, ts: r.ts as number, to: target(r.kind, r.target) };
}

/** AD of a history row: every column but the text and the seen mark. */
const messageAd = (r: Row) =>
  utf8.encode(JSON.stringify(["parley-history-v1", r.seq, r.mid, r.ts, r.sender, r.kind, r.target]));
/** AD of an outbox row. */
const outboxAd = (r: Row) => utf8.encode(JSON.stringify(["parley-outbox-v1", r.mid, r.ts, r.kind, r.target]));

function keyOf(db: DatabaseSync): Uint8Array {
  const k = KEYS.get(db);
  if (!k) throw new BackendError("locked", "The local history is not unlocked yet (no keystore key)");
  return k;
}

function seal(db: DatabaseSync, ad: Uint8Array, text: string): Uint8Array {
  return sealRecordSync(keyOf(db), utf8.encode(text), ad);
}

/** Opens a sealed text; a text still in clear (written by an older version, not unlocked yet) as is. */
function open(db: DatabaseSync, ad: Uint8Array, text: unknown): string {
  if (typeof text === "string") return text;
  return utf8Strict.decode(openRecordSync(keyOf(db), text as Uint8Array, ad));
}

/** Creates the database file private to the user (0600), and makes an existing one and its WAL so. */
function privateFile(path: string): void {
  Deno.openSync(path, { create: true, write: true, mode: 0o600 }).close();
  if (Deno.build.os === "windows") return;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.chmodSync(f, 0o600);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

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
 *   in flight); it is sent again with the same id, which the server deduplicates. An entry marked
 *   `failed` (the server can never take it: too large, malformed) is never sent again; it stays
 *   listed (`outbox()`) until the user drops it (`dropOutbox`).
 * - At rest (issue 10 item 10): once `unlock(keystoreKey)` has run (the encryption layer calls it
 *   when the keystore opens), message and outbox text is sealed with AES-256-GCM under a key derived
 *   from the keystore key (HKDF label "parley-local-history-v1"), bound to its row (seq and mid);
 *   rows written before are sealed then. The database and its -wal/-shm are 0600.
 */
import { DatabaseSync } from "node:sqlite";
import { utf8, utf8Strict } from "../../common/bytes.ts";
import { aesGcmOpenSync, aesGcmSealSync, hkdfSha256Sync } from "../../crypto/primitives.ts";
import { BackendError, type ChatMessage, type OutboxEntry, type Target } from "../backend.ts";

type Row = Record<string, unknown>;

/** A message the user wrote that the server has not confirmed yet. */
export interface PendingMessage {
  mid: string;
  ts: number;
  to: Target;
  text: string;
  /** The message it answers. */
  replyTo?: string;
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
];
/** How long `exclusive` waits for another process before giving up. */
const LOCK_WAIT_MS = 30_000;

/** The key history and outbox text are sealed under, from the keystore key. */
function historyKey(keystoreKey: Uint8Array): Uint8Array {
  return hkdfSha256Sync(keystoreKey, new Uint8Array(0), utf8.encode("parley-local-history-v1"), 32);
}

export class LocalStore {
  readonly db: DatabaseSync;
  readonly #foreign = new Set<() => void>();
  /** Seals text at rest; null until the keystore is open. */
  #key: Uint8Array | null = null;
  #dataVersion: number;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // secure_delete: text replaced by its sealed form (or deleted) is overwritten, not left in free pages.
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;");
    LocalStore.tx(this.db, () => {
      const v = Number((this.db.prepare("PRAGMA user_version").get() as Row).user_version);
      for (let i = v; i < SCHEMA.length; i++) this.db.exec(SCHEMA[i]!);
      if (v < SCHEMA.length) this.db.exec(`PRAGMA user_version=${SCHEMA.length}`);
    });
    this.#dataVersion = this.#version();
    LocalStore.#private(path);
  }

  /** The database and its companions are for the user only. */
  static #private(path: string): void {
    if (path === ":memory:" || Deno.build.os === "windows") return;
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        Deno.chmodSync(f, 0o600);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }

  /** From now on text is sealed under a key derived from `keystoreKey`; older plaintext rows are sealed now. */
  unlock(keystoreKey: Uint8Array): void {
    this.#key = historyKey(keystoreKey);
    const sealed = LocalStore.tx(this.db, () => {
      const rows = this.db.prepare("SELECT seq, mid, text FROM messages WHERE typeof(text) = 'text'")
        .all() as Row[];
      const up = this.db.prepare("UPDATE messages SET text = ? WHERE seq = ?");
      for (const r of rows) up.run(this.#seal(String(r.text), msgAd(r.seq, r.mid)), r.seq as number);
      const out = this.db.prepare("SELECT mid, text FROM outbox WHERE typeof(text) = 'text'").all() as Row[];
      const upo = this.db.prepare("UPDATE outbox SET text = ? WHERE mid = ?");
      for (const r of out) upo.run(this.#seal(String(r.text), outAd(r.mid)), r.mid as string);
      const eds = this.db.prepare("SELECT seq, n, text FROM edits WHERE typeof(text) = 'text'")
        .all() as Row[];
      const upe = this.db.prepare("UPDATE edits SET text = ? WHERE seq = ? AND n = ?");
      for (const r of eds) {
        upe.run(this.#seal(String(r.text), editAd(r.seq, r.n)), r.seq as number, r.n as number);
      }
      return rows.length + out.length + eds.length;
    });
    // The old page images in the WAL go too (when no other process is reading it at this moment).
    if (sealed && !this.db.isTransaction) this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  /**
   * A password change: text sealed under the current key is sealed again under the one derived
   * from `keystoreKey` (in the caller's transaction, if any), which is used from then on.
   */
  rekey(keystoreKey: Uint8Array): void {
    const next = historyKey(keystoreKey);
    LocalStore.tx(this.db, () => {
      const again = (v: unknown, ad: Uint8Array) => aesGcmSealSync(next, utf8.encode(this.#open(v, ad)), ad);
      const rows = this.db.prepare("SELECT seq, mid, text FROM messages WHERE typeof(text) = 'blob'")
        .all() as Row[];
      const up = this.db.prepare("UPDATE messages SET text = ? WHERE seq = ?");
      for (const r of rows) up.run(again(r.text, msgAd(r.seq, r.mid)), r.seq as number);
      const out = this.db.prepare("SELECT mid, text FROM outbox WHERE typeof(text) = 'blob'").all() as Row[];
      const upo = this.db.prepare("UPDATE outbox SET text = ? WHERE mid = ?");
      for (const r of out) upo.run(again(r.text, outAd(r.mid)), r.mid as string);
      const eds = this.db.prepare("SELECT seq, n, text FROM edits WHERE typeof(text) = 'blob'")
        .all() as Row[];
      const upe = this.db.prepare("UPDATE edits SET text = ? WHERE seq = ? AND n = ?");
      for (const r of eds) upe.run(again(r.text, editAd(r.seq, r.n)), r.seq as number, r.n as number);
    });
    this.#key = next;
  }

  #seal(text: string, ad: Uint8Array): Uint8Array | string {
    return this.#key ? aesGcmSealSync(this.#key, utf8.encode(text), ad) : text;
  }

  #open(v: unknown, ad: Uint8Array): string {
    if (typeof v === "string") return v;
    if (!this.#key) throw new BackendError("locked", "The local history is sealed: open the keystore first");
    return utf8Strict.decode(aesGcmOpenSync(this.#key, v as Uint8Array, ad));
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
    for (let wait = 2;; wait = Math.min(50, wait * 2)) {
      // No busy wait for this one attempt only: the timeout is back before any await, so other
      // writes of this process meanwhile still wait for the lock as usual.
      this.db.exec("PRAGMA busy_timeout=0");
      try {
        this.db.exec("BEGIN IMMEDIATE");
        break;
      } catch (e) {
        if (!/locked|busy/i.test(e instanceof Error ? e.message : "")) throw e;
      } finally {
        this.db.exec("PRAGMA busy_timeout=10000");
      }
      if (Date.now() > end) {
        throw new BackendError("folder_busy", "Another Parley process keeps the client folder locked");
      }
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    }
    const v = this.#version();
    if (v !== this.#dataVersion) {
      this.#dataVersion = v;
      for (const l of this.#foreign) l();
    }
  }

  save(ms: ChatMessage[], seen = true): void {
    LocalStore.tx(this.db, () => this.insert(ms, seen));
  }

  /** Inserts messages inside the caller's transaction (e.g. with crypto state). */
  insert(ms: ChatMessage[], seen = false): void {
    const st = this.db.prepare(
      `INSERT OR IGNORE INTO messages (seq, mid, ts, sender, kind, target, text, seen, reply_to, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const m of ms) {
      const text = this.#seal(m.text, msgAd(m.seq, m.mid));
      st.run(
        m.seq,
        m.mid,
        m.ts,
        m.from,
        m.to.kind,
        m.to.name ?? "",
        text,
        seen ? 1 : 0,
        m.replyTo ?? null,
        m.expires ?? null,
      );
    }
  }

  /** The saved message with server sequence number `seq`, if any. */
  get(seq: number): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE seq = ?").get(seq) as Row | undefined;
    return r ? this.#toMessage(r) : undefined;
  }

  /** The saved message with id `mid`, whoever sent it (the newest when ids collide). */
  byMidAny(mid: string): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE mid = ? ORDER BY seq DESC").get(mid) as
      | Row
      | undefined;
    return r ? this.#toMessage(r) : undefined;
  }

  /**
   * An edit: the message's text becomes `text`; the text it had is kept, sealed, as an earlier
   * version (`editsOf`). Inside the caller's transaction.
   */
  applyEdit(seq: number, text: string, at: number): void {
    const r = this.db.prepare("SELECT mid, text FROM messages WHERE seq = ?").get(seq) as Row | undefined;
    if (!r) return;
    const n = Number(
      (this.db.prepare("SELECT COALESCE(MAX(n), 0) + 1 AS n FROM edits WHERE seq = ?").get(seq) as Row).n,
    );
    const old = this.#open(r.text, msgAd(seq, r.mid));
    this.db.prepare("INSERT INTO edits (seq, n, at, text) VALUES (?, ?, ?, ?)").run(
      seq,
      n,
      at,
      this.#seal(old, editAd(seq, n)),
    );
    this.db.prepare("UPDATE messages SET text = ?, edited_at = ? WHERE seq = ?").run(
      this.#seal(text, msgAd(seq, r.mid)),
      at,
      seq,
    );
  }

  /** Disappearing messages in conversation `conv`: `seconds` (0: off), set at `at`; an older setting loses. */
  setExpiry(conv: string, seconds: number, at: number): void {
    this.db.prepare(
      `INSERT INTO expiry (conv, seconds, at) VALUES (?, ?, ?)
       ON CONFLICT (conv) DO UPDATE SET seconds = excluded.seconds, at = excluded.at WHERE excluded.at >= at`,
    ).run(conv, seconds, at);
  }

  /** The disappearing time of conversation `conv` in seconds; 0 when off. */
  expiryOf(conv: string): number {
    const r = this.db.prepare("SELECT seconds FROM expiry WHERE conv = ?").get(conv) as Row | undefined;
    return Number(r?.seconds ?? 0);
  }

  /**
   * Deletes every message whose time is up (`now`), with its earlier texts and reactions (secure_delete
   * overwrites them); answers their ids.
   */
  purgeExpired(now: number): string[] {
    if (!this.db.isOpen) return []; // closed (the client is gone): nothing to purge here
    const due = "SELECT seq FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?";
    // A read first: the usual answer is none, and then no write lock is taken (this runs every tick).
    if (!this.db.prepare(due + " LIMIT 1").get(now)) return [];
    return LocalStore.tx(this.db, () => {
      const mids = (this.db.prepare(due.replace("SELECT seq", "SELECT mid")).all(now) as Row[]).map((r) =>
        String(r.mid)
      );
      for (const t of ["edits", "reactions", "messages"]) {
        this.db.prepare(`DELETE FROM ${t} WHERE seq IN (${due})`).run(now);
      }
      return mids;
    });
  }

  /** Earlier texts of an edited message, oldest first. */
  editsOf(seq: number): { at: number; text: string }[] {
    return (this.db.prepare("SELECT n, at, text FROM edits WHERE seq = ? ORDER BY n").all(seq) as Row[]).map((
      r,
    ) => ({ at: Number(r.at), text: this.#open(r.text, editAd(seq, r.n)) }));
  }

  /**
   * Deleted for everyone: its text and every earlier version are removed from the database (not
   * hidden: secure_delete overwrites them), its reactions too. Inside the caller's transaction.
   */
  applyDelete(seq: number): void {
    const r = this.db.prepare("SELECT mid FROM messages WHERE seq = ?").get(seq) as Row | undefined;
    if (!r) return;
    this.db.prepare("UPDATE messages SET text = ?, deleted = 1 WHERE seq = ?").run(
      this.#seal("", msgAd(seq, r.mid)),
      seq,
    );
    this.db.prepare("DELETE FROM edits WHERE seq = ?").run(seq);
    this.db.prepare("DELETE FROM reactions WHERE seq = ?").run(seq);
  }

  /** `user` reacts to message `seq` with `emoji` (`on`), or takes the reaction back. */
  applyReaction(seq: number, user: string, emoji: string, on: boolean, at: number): void {
    if (on) {
      this.db.prepare("INSERT OR IGNORE INTO reactions (seq, emoji, user, at) VALUES (?, ?, ?, ?)").run(
        seq,
        emoji,
        user,
        at,
      );
    } else {this.db.prepare("DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user = ?").run(
        seq,
        emoji,
        user,
      );}
  }

  /** The saved message with id `mid` sent by `from`, if any. */
  byMid(from: string, mid: string): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE mid = ? AND sender = ?").get(mid, from) as
      | Row
      | undefined;
    return r ? this.#toMessage(r) : undefined;
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
    return rows.map((r) => this.#toMessage(r));
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
    return rows.map((r) => this.#toMessage(r));
  }

  /** Messages saved but never shown, oldest first. */
  unseen(): ChatMessage[] {
    return (this.db.prepare("SELECT * FROM messages WHERE seen = 0 ORDER BY seq").all() as Row[]).map((r) =>
      this.#toMessage(r)
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
        "INSERT OR IGNORE INTO outbox (mid, ts, kind, target, text, resend, reply_to) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(
        p.mid,
        p.ts,
        p.to.kind,
        p.to.name ?? "",
        this.#seal(p.text, outAd(p.mid)),
        resend ? 1 : 0,
        p.replyTo ?? null,
      );
    });
  }

  /** The outbox entry `mid`, if it is still there. */
  pending(mid: string): PendingMessage | undefined {
    const r = this.db.prepare("SELECT * FROM outbox WHERE mid = ?").get(mid) as Row | undefined;
    return r ? this.#toPending(r) : undefined;
  }

  /** Every unconfirmed message to send again, in the order they were written (failed ones not). */
  pendingAll(): PendingMessage[] {
    return (this.db.prepare("SELECT * FROM outbox WHERE resend = 1 AND failed IS NULL ORDER BY n")
      .all() as Row[])
      .map((r) => this.#toPending(r));
  }

  /** How many unconfirmed messages wait to be sent again (counted, not opened). */
  pendingCount(): number {
    return Number(
      (this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE resend = 1 AND failed IS NULL").get() as Row)
        .n,
    );
  }

  /** The full-screen client's outbox as `/outbox` lists it: waiting and failed entries, in order. */
  outbox(): OutboxEntry[] {
    const rows = this.db.prepare("SELECT * FROM outbox WHERE resend = 1 ORDER BY n").all() as Row[];
    return rows.map((r) => ({
      ...this.#toPending(r),
      n: r.n as number,
      ...(r.failed !== null ? { failed: String(r.failed) } : {}),
    }));
  }

  /** Marks an entry as one the server can never take: kept (listed, removable), never sent again. */
  markFailed(mid: string, why: string): void {
    LocalStore.tx(
      this.db,
      () => void this.db.prepare("UPDATE outbox SET failed = ? WHERE mid = ?").run(why, mid),
    );
  }

  /** The connection dropped while entry `mid` was being sent: returns how many times that happened in a row. */
  noteDrop(mid: string): number {
    return LocalStore.tx(this.db, () => {
      this.db.prepare("UPDATE outbox SET drops = drops + 1 WHERE mid = ?").run(mid);
      const r = this.db.prepare("SELECT drops FROM outbox WHERE mid = ?").get(mid) as Row | undefined;
      return Number(r?.drops ?? 0);
    });
  }

  /** Removes outbox entry number `n` (`/outbox drop N`); returns it, or null when there is none. */
  dropOutbox(n: number): OutboxEntry | null {
    return LocalStore.tx(this.db, () => {
      const e = this.outbox().find((x) => x.n === n);
      if (e) this.db.prepare("DELETE FROM outbox WHERE n = ?").run(n);
      return e ?? null;
    });
  }

  /** The server confirmed `m` (same mid): it moves from the outbox into the history. */
  confirm(m: ChatMessage): void {
    LocalStore.tx(this.db, () => {
      this.db.prepare("DELETE FROM outbox WHERE mid = ?").run(m.mid);
      this.insert([m], true);
    });
  }

  /** Drops an outbox entry the user was told failed. */
  dropPending(mid: string): void {
    LocalStore.tx(this.db, () => void this.db.prepare("DELETE FROM outbox WHERE mid = ?").run(mid));
  }

  #toMessage(r: Row): ChatMessage {
    const m: ChatMessage = {
      seq: r.seq as number,
      mid: r.mid as string,
      ts: r.ts as number,
      from: r.sender as string,
      to: target(r.kind, r.target),
      text: this.#open(r.text, msgAd(r.seq, r.mid)),
    };
    if (typeof r.reply_to === "string") m.replyTo = r.reply_to;
    if (r.edited_at !== null && r.edited_at !== undefined) m.edited = Number(r.edited_at);
    if (r.deleted) m.deleted = true;
    if (r.expires_at !== null && r.expires_at !== undefined) m.expires = Number(r.expires_at);
    const rs = this.db.prepare("SELECT emoji, user FROM reactions WHERE seq = ? ORDER BY at, user").all(
      m.seq,
    ) as Row[];
    if (rs.length) {
      const by: Record<string, string[]> = {};
      for (const x of rs) (by[String(x.emoji)] ??= []).push(String(x.user));
      m.reactions = by;
    }
    return m;
  }

  #toPending(r: Row): PendingMessage {
    return {
      mid: r.mid as string,
      ts: r.ts as number,
      to: target(r.kind, r.target),
      text: this.#open(r.text, outAd(r.mid)),
      ...(typeof r.reply_to === "string" ? { replyTo: r.reply_to } : {}),
    };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

const msgAd = (seq: unknown, mid: unknown) => utf8.encode(`parley-msg\0${seq}\0${mid}`);
const outAd = (mid: unknown) => utf8.encode(`parley-outbox\0${mid}`);
const editAd = (seq: unknown, n: unknown) => utf8.encode(`parley-edit\0${seq}\0${n}`);

function target(kind: unknown, name: unknown): Target {
  return kind === "broadcast"
    ? { kind: "broadcast" }
    : { kind: kind as "user" | "room", name: name as string };
}

/**
 * The SQLite connection under `SqliteStore`: opens a file path or ":memory:" in WAL mode with
 * `synchronous=FULL`, runs the migrations once, caches prepared statements and runs write
 * transactions; deleted content is overwritten with zeros (`secure_delete`); `quickCheck` and
 * `fileSizes` serve the start's check, `/db` and `admin check`. Its subclasses (sqlite_accounts.ts, sqlite_store.ts) hold the queries.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { MIGRATIONS } from "./migrations.ts";

export type Row = Record<string, unknown>;
/** A prepared statement (what `q` gives: sqlite_keys.ts takes it without opening anything). */
export type Statement = StatementSync;

/** WAL pages written before SQLite checkpoints (and then writes the WAL again from its start). */
const WAL_AUTOCHECKPOINT = 10_000;
/** SQLite's result codes for a damaged database file. */
const SQLITE_CORRUPT = 11, SQLITE_NOTADB = 26;
/**
 * A database up to this size is checked whole at open (`quick_check`: ~18 µs a page, ~0.3 s here);
 * a larger one table by table, the messages' tables left to their rows' CRCs, the start's read of the
 * newest rows and `admin check` (issue 73: ~0.8 s at 1M messages, growing with history).
 */
export const FULL_CHECK_BYTES = 64 * 1024 * 1024;
/** The tables a large database's check at open leaves out (rows checked on reading instead). */
const HISTORY_TABLES = new Set(["messages", "key_chunks"]);
/** The page cache: 64 MiB, grown only as pages are used. */
const CACHE_SIZE = "-65536";

export abstract class SqliteBase {
  protected readonly db: DatabaseSync;
  readonly #st = new Map<string, StatementSync>();

  /**
   * `check`: SQLite's `quick_check` first (of the whole file up to `wholeUpTo` bytes, else every table
   * but the messages'), and a damaged database refused with what to do.
   */
  constructor(readonly path: string, check = false, readonly wholeUpTo = FULL_CHECK_BYTES) {
    this.db = new DatabaseSync(path);
    try {
      // A 64 MiB page cache (grown only as pages are used) and checkpoints every ~40 MB of WAL instead of
      // ~4 MB: message inserts cost ~25 % less CPU (a 100,000-row micro-bench).
      this.db.exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;" +
          `PRAGMA cache_size=${CACHE_SIZE}; PRAGMA wal_autocheckpoint=${WAL_AUTOCHECKPOINT};` +
          "PRAGMA secure_delete=ON;",
      );
      const bad = check ? this.#checkAtOpen() : [];
      if (bad.length) {
        const e = new Error(bad.slice(0, 3).join("; ") + (bad.length > 3 ? "; …" : ""));
        throw Object.assign(e, { errcode: SQLITE_CORRUPT });
      }
      this.#migrate();
    } catch (e) {
      this.db.close();
      throw this.damaged(e);
    }
  }

  /**
   * `e` when it is not SQLite's word for a damaged file; else the refusal of a damaged database, with
   * what to do (the check at open, or a read at open that found a damaged page).
   */
  protected damaged(e: unknown): unknown {
    const code = ((e as { errcode?: number }).errcode ?? 0) & 0xff;
    if (code !== SQLITE_CORRUPT && code !== SQLITE_NOTADB) return e;
    return new Error(
      `${this.path} is damaged (SQLite quick_check: ${
        (e as Error).message
      }): run \`parley-server admin check\` ` +
        "for the whole list, then restore a backup or run `parley-server admin salvage`",
      { cause: e },
    );
  }

  #migrate(): void {
    const v = (this.db.prepare("PRAGMA user_version").get() as Row).user_version as number;
    for (let i = v; i < MIGRATIONS.length; i++) {
      this.db.exec("BEGIN");
      try {
        this.db.exec(MIGRATIONS[i]!);
        this.db.exec(`PRAGMA user_version = ${i + 1}`);
        this.db.exec("COMMIT");
      } catch (e) {
        this.db.exec("ROLLBACK");
        throw e;
      }
    }
  }

  /** SQLite's `quick_check` (of `table` alone when named): [] when the database is sound, else its complaints (at most 100). */
  quickCheck(table?: string): string[] {
    const rows = this.db.prepare(`PRAGMA quick_check(${table === undefined ? 100 : `"${table}"`})`)
      .all() as Row[];
    const out = rows.map((r) => String(Object.values(r)[0]));
    return out.length === 1 && out[0] === "ok" ? [] : out;
  }

  /** The check at open: whole up to `FULL_CHECK_BYTES`, else every table but the messages' ones. */
  #checkAtOpen(): string[] {
    const size = this.fileSizes()[0]?.bytes ?? 0;
    if (size <= this.wholeUpTo) return this.quickCheck();
    const tables = (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Row[])
      .map((r) => r.name as string).filter((t) => !HISTORY_TABLES.has(t));
    return tables.flatMap((t) => this.quickCheck(t)).slice(0, 100);
  }

  /** The database's files and their sizes (the WAL and its index too, when there): `/db`, `admin check`. */
  fileSizes(): { name: string; bytes: number }[] {
    if (this.path === ":memory:") return [];
    const out: { name: string; bytes: number }[] = [];
    for (const name of [this.path, `${this.path}-wal`, `${this.path}-shm`]) {
      try {
        out.push({ name, bytes: Deno.statSync(name).size });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    return out;
  }

  /** The prepared statement for `sql` (cached). */
  protected q(sql: string): StatementSync {
    let s = this.#st.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#st.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one write transaction. */
  protected tx<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const r = fn();
      this.db.exec("COMMIT");
      return r;
    } catch (e) {
      // SQLite has rolled back already after some errors (SQLITE_FULL, I/O errors): the cause is
      // what the caller must hear, not "no transaction is active".
      try {
        this.db.exec("ROLLBACK");
      } catch { /* rolled back by SQLite */ }
      throw e;
    }
  }

  close(): Promise<void> {
    if (this.db.isOpen) {
      this.#st.clear();
      this.db.close();
    }
    return Promise.resolve();
  }
}

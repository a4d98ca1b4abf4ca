/**
 * `parley-server admin check` and `admin salvage` on the embedded store's database (issue 68 item
 * 7): the checks a start cannot afford, and a way past damage that does not need a hex editor.
 *
 * - `checkDatabase`: SQLite's full `integrity_check`, every message row against its CRC
 *   (`checkMessageRows`, also backup_folder.ts's), and the seq mark against every seq the folder has seen.
 *   Reads only (a plain connection: beside a running server it reads a snapshot).
 * - `salvageDatabase`: copies every row that can still be read into a new database of the current
 *   schema (sqlite_store.ts makes it), message rows in seq ranges halved around a read error down to
 *   one row, rows failing their CRC left out; the mark set above every seq seen; then the new file
 *   takes the old one's place and the old files are kept beside it (`.before-salvage-STAMP`). It
 *   lists what it left out: the seqs of messages, and tables it could read only part of.
 * With sqlite_store.ts, sqlite_accounts.ts, sqlite_base.ts and the migrations, the only files that
 * speak SQL to SQLite; the server must be stopped for a salvage (server.ts checks).
 */
import { DatabaseSync } from "node:sqlite";
import type { Row } from "./sqlite_base.ts";
import { rowOf, SEQ_SEEN_SQL, SqliteStore } from "./sqlite_store.ts";
import { rowCrc } from "./row_crc.ts";
import type { NewMessage } from "./store.ts";

/** What `admin check` found in the database. */
export interface DatabaseReport {
  /** SQLite's complaints (empty: sound). */
  problems: string[];
  rows: number;
  /** Message rows whose CRC fails. */
  damaged: number[];
  /** Seqs in ranges that could not be read (a damaged page: rows there, or none). */
  unreadable: number[];
  /** The table's seq mark, and the highest seq seen anywhere (cursors, members, accounts, devices, rows). */
  mark: number;
  seen: number;
}

const one = (db: DatabaseSync, sql: string) => Number((db.prepare(sql).get() as Row | undefined)?.n ?? 0);

/** The highest seq any table names. */
const seqSeen = (db: DatabaseSync) => one(db, SEQ_SEEN_SQL);

/** Runs `fn`; a thrown error becomes a problem line (a damaged file may fail any read). */
function tryRead<T>(problems: string[], what: string, fn: () => T, dflt: T): T {
  try {
    return fn();
  } catch (e) {
    problems.push(`${what}: ${(e as Error).message}`);
    return dflt;
  }
}

export function checkDatabase(path: string): DatabaseReport {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout=5000");
    const problems: string[] = [];
    const ic = tryRead(
      problems,
      "integrity_check",
      () => db.prepare("PRAGMA integrity_check(100)").all(),
      [],
    );
    const lines = (ic as Row[]).map((r) => String(Object.values(r)[0]));
    if (!(lines.length === 1 && lines[0] === "ok")) problems.push(...lines);
    const { rows, damaged, unreadable } = checkMessageRows(db);
    const mark = tryRead(
      problems,
      "seq mark",
      () => one(db, "SELECT seq AS n FROM sqlite_sequence WHERE name = 'messages'"),
      0,
    );
    const seen = tryRead(problems, "seqs", () => seqSeen(db), 0);
    return { problems, rows, damaged, unreadable, mark, seen };
  } finally {
    db.close();
  }
}

/** What `admin salvage` did. */
export interface Salvaged {
  /** Where the old files were kept. */
  kept: string[];
  rows: number;
  /** Seqs of message rows left out (unreadable, or failing their CRC). */
  lostSeqs: number[];
  /** Tables read only in part, and why. */
  partial: string[];
  mark: number;
}

/** The columns of `table` in `db`. */
const columns = (db: DatabaseSync, table: string) =>
  (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Row[]).map((r) => r.name as string);

/** A message row as read back, `expires` as `rowCrc` takes it. */
type ReadRow = NewMessage & { seq: number; crc: number | null };

/**
 * Reads the message rows in seqs (lo, hi] in order, telling `visit` each; a read error halves the
 * range, down to one seq, which is told to `unreadable` (a damaged page may hold several rows).
 */
function scanRows(
  db: DatabaseSync,
  lo: number,
  hi: number,
  visit: (r: ReadRow) => void,
  unreadable: (seq: number) => void,
): void {
  let rows: Row[];
  try {
    rows = db.prepare("SELECT * FROM messages WHERE seq > ? AND seq <= ? ORDER BY seq").all(lo, hi) as Row[];
  } catch {
    if (hi - lo <= 1) return unreadable(hi);
    const mid = lo + Math.floor((hi - lo) / 2);
    scanRows(db, lo, mid, visit, unreadable);
    return scanRows(db, mid, hi, visit, unreadable);
  }
  for (const r of rows) {
    visit({ ...rowOf(r), crc: r.crc == null ? null : Number(r.crc) });
  }
}

/** Every message row of `db` up to the highest seq it may hold, in pages; each told to `visit`. */
function scanAll(db: DatabaseSync, visit: (r: ReadRow) => void, unreadable: (seq: number) => void): number {
  const top = Math.max(
    tryRead([], "", () => one(db, "SELECT seq AS n FROM sqlite_sequence WHERE name = 'messages'"), 0),
    tryRead([], "", () => one(db, "SELECT MAX(seq) AS n FROM messages"), 0),
  );
  for (let lo = 0; lo < top; lo += 4096) scanRows(db, lo, Math.min(top, lo + 4096), visit, unreadable);
  return top;
}

/**
 * Every message row of `db` (a store's, or a backup's copy opened read-only) against its CRC: how
 * many rows were read, the seqs of those that fail (rows from before the CRC carry none: counted, not
 * checked) and the seqs in ranges that could not be read at all.
 */
export function checkMessageRows(
  db: DatabaseSync,
): { rows: number; damaged: number[]; unreadable: number[] } {
  let rows = 0;
  const damaged: number[] = [], unreadable: number[] = [];
  scanAll(db, (r) => {
    rows++;
    if (r.crc !== null && rowCrc(r) !== r.crc) damaged.push(r.seq);
  }, (seq) => unreadable.push(seq));
  return { rows, damaged, unreadable };
}

/** Copies what can be read of `table` (every column both have); why it stopped short, or null. */
function copyTable(from: DatabaseSync, to: DatabaseSync, table: string): string | null {
  const cols = columns(to, table).filter((c) => columns(from, table).includes(c));
  const list = cols.map((c) => `"${c}"`).join(", ");
  const ins = to.prepare(
    `INSERT OR IGNORE INTO "${table}" (${list}) VALUES (${cols.map(() => "?").join(", ")})`,
  );
  let n = 0;
  try {
    for (const r of from.prepare(`SELECT ${list} FROM "${table}"`).iterate() as Iterable<Row>) {
      ins.run(...cols.map((c) => r[c] as null));
      n++;
    }
    return null;
  } catch (e) {
    return `${table}: ${n} row(s) copied, then ${(e as Error).message}`;
  }
}

/** Moves `path` (and its WAL files) aside as `.before-salvage-STAMP`; the names kept. */
function keepAside(path: string, stamp: string): string[] {
  const kept: string[] = [];
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.renameSync(f, `${f}.before-salvage-${stamp}`);
      kept.push(`${f}.before-salvage-${stamp}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return kept;
}

export async function salvageDatabase(path: string, stamp: string): Promise<Salvaged> {
  const tmp = `${path}.salvage-${stamp}`;
  await new SqliteStore(tmp, { lazyMessages: true }).close(); // the current schema, empty
  const from = new DatabaseSync(path), to = new DatabaseSync(tmp);
  const partial: string[] = [], lostSeqs: number[] = [];
  let rows = 0, mark = 0;
  try {
    to.exec("PRAGMA foreign_keys=OFF; BEGIN");
    const tables =
      (to.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .all() as Row[]).map((r) => r.name as string);
    // The messages' keys (sqlite_keys.ts) are not copied: the next open makes them again from the rows kept.
    const derived = new Set(["messages", "key_chunks", "key_names", "message_totals", "message_keys_mark"]);
    for (const t of tables.filter((t) => !derived.has(t))) {
      const why = copyTable(from, to, t);
      if (why) partial.push(why);
    }
    const ins = to.prepare(
      "INSERT INTO messages (seq, mid, sender, kind, target, conv, ts, body, expires, crc) VALUES (?,?,?,?,?,?,?,?,?,?)",
    );
    const top = scanAll(from, (m) => {
      const crc = rowCrc(m);
      if (m.crc !== null && crc !== m.crc) return void lostSeqs.push(m.seq);
      ins.run(m.seq, m.mid, m.sender, m.kind, m.target, m.conv, m.ts, m.body, m.expires ?? null, crc);
      rows++;
    }, (seq) => lostSeqs.push(seq));
    mark = Math.max(top, seqSeen(to));
    to.exec("DELETE FROM sqlite_sequence WHERE name = 'messages'");
    to.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)").run(mark);
    to.exec("COMMIT");
  } finally {
    from.close();
    to.close();
  }
  const kept = keepAside(path, stamp);
  Deno.renameSync(tmp, path);
  for (const f of [`${tmp}-wal`, `${tmp}-shm`]) {
    try {
      Deno.removeSync(f);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return { kept, rows, lostSeqs, partial, mark };
}

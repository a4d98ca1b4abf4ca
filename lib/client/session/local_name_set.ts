/**
 * A set of names kept in a table of the client folder's local store (a name, and when it was added),
 * so every process of the folder and the next start see the same set: the muted conversations
 * (local_mutes.ts) and the highlight words (local_highlights.ts) are two. Each name is kept in the
 * one form its list's rule gives (`norm`, which refuses a bad one); the list is sorted.
 */
import { type Row, type SqlDb, writeTx } from "./local_store_sql.ts";

/** A stored set's operations: the names, sorted; add (`on`) or remove one, answering the names after. */
export interface StoredSet {
  list(): Promise<string[]>;
  set(name: string, on: boolean): Promise<string[]>;
}

/** The set kept in `table` (its `column` holds the name, `at` the time) of the store `db`. */
export function storedSet(
  db: SqlDb,
  table: "muted" | "highlights",
  column: "conv" | "word",
  norm: (name: string) => string,
  now: () => number,
): StoredSet {
  const names = () =>
    (db.prepare(`SELECT ${column} FROM ${table} ORDER BY ${column}`).all() as Row[]).map((r) =>
      String(r[column])
    );
  return {
    list: () => Promise.resolve(names()),
    set: (name, on) =>
      Promise.resolve().then(() => {
        const n = norm(name);
        return writeTx(db, () => {
          if (on) db.prepare(`INSERT OR IGNORE INTO ${table} (${column}, at) VALUES (?, ?)`).run(n, now());
          else db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).run(n);
          return names();
        });
      }),
  };
}

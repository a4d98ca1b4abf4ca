/**
 * The client's local database in its home folder (SQLite): received and sent messages as text,
 * so history survives acknowledgement on the server. One file per account and server. The
 * encryption layer keeps its keys and ratchet state in the same database (its own tables).
 */
import { DatabaseSync } from "node:sqlite";
import type { ChatMessage, Target } from "./backend.ts";

type Row = Record<string, unknown>;

export class LocalStore {
  readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA journal_mode=WAL;
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY, mid TEXT NOT NULL, ts INTEGER NOT NULL, sender TEXT NOT NULL,
        kind TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS messages_ts ON messages (ts);`);
  }

  static pathFor(home: string, user: string, server: string): string {
    return `${home}/${user}@${server.replace(/[^A-Za-z0-9.-]/g, "_")}.db`;
  }

  save(ms: ChatMessage[]): void {
    this.db.exec("BEGIN");
    try {
      LocalStore.insert(this.db, ms);
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Inserts messages without a transaction of its own (callers wrap it, e.g. with crypto state). */
  static insert(db: DatabaseSync, ms: ChatMessage[]): void {
    const st = db.prepare(
      "INSERT OR IGNORE INTO messages (seq, mid, ts, sender, kind, target, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    for (const m of ms) st.run(m.seq, m.mid, m.ts, m.from, m.to.kind, m.to.name ?? "", m.text);
  }

  /** The saved message with server sequence number `seq`, if any. */
  get(seq: number): ChatMessage | undefined {
    const r = this.db.prepare("SELECT * FROM messages WHERE seq = ?").get(seq) as Row | undefined;
    return r ? toMessage(r) : undefined;
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
    return rows.map(toMessage);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function toMessage(r: Row): ChatMessage {
  return {
    seq: r.seq as number,
    mid: r.mid as string,
    ts: r.ts as number,
    from: r.sender as string,
    to: r.kind === "broadcast"
      ? { kind: "broadcast" }
      : { kind: r.kind as "user" | "room", name: r.target as string },
    text: r.text as string,
  };
}

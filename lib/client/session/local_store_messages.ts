/**
 * The local store's history: the `messages` table, one row per message by its server sequence
 * number (`seq`), text sealed by the `HistorySealer` and bound to its row. `seen` marks messages a
 * screen or `parley read` has shown; the rest are "new" at next start. Rows come back as
 * `ChatMessage`s with their reply, edit, deletion, expiry, reactions and sealed time (`sentAt`), and whether the row is a
 * conversation's setting line (`setting`), not a text.
 */
import type { ChatMessage, Target } from "../backend.ts";
import { type Row, type SqlDb, target, writeTx } from "./local_store_sql.ts";
import { type HistorySealer, msgAd } from "./local_store_seal.ts";
import { reactionsOf } from "./local_store_changes.ts";

/** Inserts messages inside the caller's transaction; a `seq` already there is left as it is. */
export function insertMessages(db: SqlDb, sealer: HistorySealer, ms: ChatMessage[], seen: boolean): void {
  const st = db.prepare(
    `INSERT OR IGNORE INTO messages
       (seq, mid, ts, sender, kind, target, text, seen, reply_to, expires_at, setting, reply_by, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const m of ms) {
    const text = sealer.seal(m.text, msgAd(m.seq, m.mid));
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
      m.setting ? 1 : 0,
      m.replyTo && m.replyBy ? m.replyBy : null,
      m.sentAt ?? null,
    );
  }
}

/** The first message row `sql` selects with `args`, as a message. */
export function oneMessage(
  db: SqlDb,
  sealer: HistorySealer,
  sql: string,
  ...args: (string | number)[]
): ChatMessage | undefined {
  const r = db.prepare(sql).get(...args) as Row | undefined;
  return r ? toMessage(db, sealer, r) : undefined;
}

/** The senders of the saved messages with id `mid` (one: a copy of another sender's id is refused, e2e/changes.ts). */
export function sendersOf(db: SqlDb, mid: string): string[] {
  const rows = db.prepare("SELECT DISTINCT sender FROM messages WHERE mid = ?").all(mid) as Row[];
  return rows.map((r) => String(r.sender));
}

/** The WHERE clause (from " AND") and its values that keep one conversation seen from `me` (none: all). */
export function conversation(me: string, f?: Target): { sql: string; args: string[] } {
  if (f?.kind === "broadcast") return { sql: " AND kind = 'broadcast'", args: [] };
  if (f?.kind === "room") return { sql: " AND kind = 'room' AND target = ?", args: [f.name ?? ""] };
  if (f?.kind !== "user") return { sql: "", args: [] };
  const sql = " AND kind = 'user' AND ((sender = ? AND target = ?) OR (sender = ? AND target = ?))";
  return { sql, args: [f.name ?? "", me, me, f.name ?? ""] };
}

/** Messages since `since` (ms), optionally of one conversation seen from `me`. Oldest first. */
export function listMessages(
  db: SqlDb,
  sealer: HistorySealer,
  me: string,
  since: number,
  filter?: Target,
): ChatMessage[] {
  const only = conversation(me, filter);
  const rows = db.prepare(`SELECT * FROM messages WHERE ts >= ?${only.sql} ORDER BY seq`)
    .all(since, ...only.args) as Row[];
  return rows.map((r) => toMessage(db, sealer, r));
}

/** The last `perConversation` shown messages of each conversation, oldest first. */
export function recentMessages(
  db: SqlDb,
  sealer: HistorySealer,
  me: string,
  perConversation: number,
): ChatMessage[] {
  const rows = db.prepare(
    `SELECT * FROM (
       SELECT *, ROW_NUMBER() OVER (PARTITION BY kind,
         CASE WHEN kind = 'user' THEN (CASE WHEN sender = ? THEN target ELSE sender END) ELSE target END
         ORDER BY seq DESC) AS r
       FROM messages WHERE seen = 1)
     WHERE r <= ? ORDER BY seq`,
  ).all(me, perConversation) as Row[];
  return rows.map((r) => toMessage(db, sealer, r));
}

/** Messages saved but never shown, oldest first. */
export function unseenMessages(db: SqlDb, sealer: HistorySealer): ChatMessage[] {
  const rows = db.prepare("SELECT * FROM messages WHERE seen = 0 ORDER BY seq").all() as Row[];
  return rows.map((r) => toMessage(db, sealer, r));
}

/** True when `seq` was shown already (by this or another process on the folder). */
export function isSeen(db: SqlDb, seq: number): boolean {
  return db.prepare("SELECT 1 FROM messages WHERE seq = ? AND seen = 1").get(seq) !== undefined;
}

/** Marks messages as shown, in one transaction. */
export function markSeen(db: SqlDb, seqs: number[]): void {
  if (!seqs.length) return;
  writeTx(db, () => {
    const st = db.prepare("UPDATE messages SET seen = 1 WHERE seq = ?");
    for (const s of seqs) st.run(s);
  });
}

/**
 * Marks seen every message of `me`'s conversation `to` up to `seq` (another device of mine showed
 * them, e2e/seen_sync.ts): a room's, the broadcasts, or the DMs between `me` and a user.
 */
export function markSeenUpTo(db: SqlDb, me: string, to: Target, seq: number): void {
  const only = conversation(me, to);
  db.prepare(`UPDATE messages SET seen = 1 WHERE seen = 0 AND seq <= ?${only.sql}`).run(seq, ...only.args);
}

/** A message row as a `ChatMessage` (its text opened, its reactions read). */
export function toMessage(db: SqlDb, sealer: HistorySealer, r: Row): ChatMessage {
  const m: ChatMessage = {
    seq: r.seq as number,
    mid: r.mid as string,
    ts: r.ts as number,
    from: r.sender as string,
    to: target(r.kind, r.target),
    text: sealer.open(r.text, msgAd(r.seq, r.mid)),
  };
  if (typeof r.reply_to === "string") m.replyTo = r.reply_to;
  if (typeof r.reply_by === "string") m.replyBy = r.reply_by;
  if (r.edited_at !== null && r.edited_at !== undefined) m.edited = Number(r.edited_at);
  if (r.deleted) m.deleted = true;
  if (r.setting) m.setting = true;
  if (r.expires_at !== null && r.expires_at !== undefined) m.expires = Number(r.expires_at);
  if (r.sent_at !== null && r.sent_at !== undefined) m.sentAt = Number(r.sent_at);
  const reactions = reactionsOf(db, m.seq);
  if (reactions) m.reactions = reactions;
  return m;
}

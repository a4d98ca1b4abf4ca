/**
 * The local store's tables of changes to messages (issue 39): edits (the message's text replaced,
 * each earlier text kept, sealed, in `edits`), deletion for everyone (the text and every earlier
 * version removed: secure_delete overwrites them), reactions (one row per message, emoji and
 * user), and disappearing messages (`expiry`: the time of each conversation, the latest setting
 * wins; `purgeExpired` deletes what is due). Whether a change is allowed is decided before, in
 * e2e/changes.ts; these only apply it, inside the caller's transaction unless said otherwise.
 */
import { type Row, type SqlDb, writeTx } from "./local_store_sql.ts";
import { editAd, type HistorySealer, msgAd } from "./local_store_seal.ts";

/** An edit: the text of message `seq` becomes `text`; the text it had is kept as an earlier version. */
export function applyEdit(db: SqlDb, sealer: HistorySealer, seq: number, text: string, at: number): void {
  const r = db.prepare("SELECT mid, text FROM messages WHERE seq = ?").get(seq) as Row | undefined;
  if (!r) return;
  const n = Number(
    (db.prepare("SELECT COALESCE(MAX(n), 0) + 1 AS n FROM edits WHERE seq = ?").get(seq) as Row).n,
  );
  const old = sealer.open(r.text, msgAd(seq, r.mid));
  db.prepare("INSERT INTO edits (seq, n, at, text) VALUES (?, ?, ?, ?)").run(
    seq,
    n,
    at,
    sealer.seal(old, editAd(seq, n)),
  );
  db.prepare("UPDATE messages SET text = ?, edited_at = ? WHERE seq = ?").run(
    sealer.seal(text, msgAd(seq, r.mid)),
    at,
    seq,
  );
}

/** Earlier texts of an edited message, oldest first. */
export function editsOf(db: SqlDb, sealer: HistorySealer, seq: number): { at: number; text: string }[] {
  const rows = db.prepare("SELECT n, at, text FROM edits WHERE seq = ? ORDER BY n").all(seq) as Row[];
  return rows.map((r) => ({ at: Number(r.at), text: sealer.open(r.text, editAd(seq, r.n)) }));
}

/** Deleted for everyone: the text becomes "", earlier versions and reactions are removed. */
export function applyDelete(db: SqlDb, sealer: HistorySealer, seq: number): void {
  const r = db.prepare("SELECT mid FROM messages WHERE seq = ?").get(seq) as Row | undefined;
  if (!r) return;
  db.prepare("UPDATE messages SET text = ?, deleted = 1 WHERE seq = ?").run(
    sealer.seal("", msgAd(seq, r.mid)),
    seq,
  );
  db.prepare("DELETE FROM edits WHERE seq = ?").run(seq);
  db.prepare("DELETE FROM reactions WHERE seq = ?").run(seq);
}

/** `user` reacts to message `seq` with `emoji` (`on`), or takes the reaction back. */
export function applyReaction(
  db: SqlDb,
  seq: number,
  user: string,
  emoji: string,
  on: boolean,
  at: number,
): void {
  if (on) {
    db.prepare("INSERT OR IGNORE INTO reactions (seq, emoji, user, at) VALUES (?, ?, ?, ?)").run(
      seq,
      emoji,
      user,
      at,
    );
  } else {
    db.prepare("DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user = ?").run(seq, emoji, user);
  }
}

/** The reactions to message `seq`: who reacted with each emoji, in the order they came; undefined for none. */
export function reactionsOf(db: SqlDb, seq: number): Record<string, string[]> | undefined {
  const rs = db.prepare("SELECT emoji, user FROM reactions WHERE seq = ? ORDER BY at, user").all(
    seq,
  ) as Row[];
  if (!rs.length) return undefined;
  const by: Record<string, string[]> = {};
  for (const x of rs) (by[String(x.emoji)] ??= []).push(String(x.user));
  return by;
}

/**
 * Disappearing messages in conversation `conv`: `seconds` (0: off), set at `at`; an older setting
 * loses. Whether it is news here (none held, or the one held older or other): a setting re-sent to a
 * member invited later shows only where it is.
 */
export function setExpiry(db: SqlDb, conv: string, seconds: number, at: number): boolean {
  const held = expirySetting(db, conv);
  db.prepare(
    `INSERT INTO expiry (conv, seconds, at) VALUES (?, ?, ?)
     ON CONFLICT (conv) DO UPDATE SET seconds = excluded.seconds, at = excluded.at WHERE excluded.at >= at`,
  ).run(conv, seconds, at);
  return !held || held.at < at || (held.at === at && held.seconds !== seconds);
}

/** The disappearing-time setting of conversation `conv` held here (seconds, 0: off; when set), if any. */
export function expirySetting(db: SqlDb, conv: string): { seconds: number; at: number } | undefined {
  const r = db.prepare("SELECT seconds, at FROM expiry WHERE conv = ?").get(conv) as Row | undefined;
  return r ? { seconds: Number(r.seconds), at: Number(r.at) } : undefined;
}

/** The disappearing time of conversation `conv` in seconds; 0 when off. */
export function expiryOf(db: SqlDb, conv: string): number {
  return expirySetting(db, conv)?.seconds ?? 0;
}

/**
 * Deletes every message whose time is up (`now`), with its earlier texts and reactions, in its own
 * transaction; answers their ids. A closed database has nothing to purge.
 */
export function purgeExpired(db: SqlDb, now: number): string[] {
  if (!db.isOpen) return []; // closed (the client is gone): nothing to purge here
  const due = "SELECT seq FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?";
  // A read first: the usual answer is none, and then no write lock is taken (this runs every tick).
  if (!db.prepare(due + " LIMIT 1").get(now)) return [];
  return writeTx(db, () => {
    const mids = (db.prepare(due.replace("SELECT seq", "SELECT mid")).all(now) as Row[]).map((r) =>
      String(r.mid)
    );
    for (const t of ["edits", "reactions", "messages"]) {
      db.prepare(`DELETE FROM ${t} WHERE seq IN (${due})`).run(now);
    }
    return mids;
  });
}
